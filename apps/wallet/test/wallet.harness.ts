import { DEFAULT_MAX_CHARGE, topicFor, type EventType } from '@ticketing/contracts';
import { createDatabase, migrateLatest, type Database } from '@ticketing/db';
import { createIdempotencyStore, createInternalAuth, startServer, type RunningServer } from '@ticketing/http';
import {
  createEventConsumer,
  createOutboxRelay,
  createOutboxWriter,
  encodeEvent,
  type EventConsumer,
  type EventHandler,
  type NewEvent,
  type OutboxRelay,
} from '@ticketing/messaging';
import { createLogger, createMetricsRegistry } from '@ticketing/telemetry';
import { createTestDatabase, createTestTopics, deleteTestTopics, testKafka, uniqueName, waitFor, type TestDatabase } from '@ticketing/testing';
import type { Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createApp } from '../src/app';
import { debitRequestedHandlers } from '../src/payments/debit-requested.consumer';
import { refundRequestedHandlers } from '../src/payments/refund-requested.consumer';
import { conservationViolations } from '../src/wallet/account.repository';

export const INTERNAL_SECRET = 'wallet-test-internal-secret-0123456789abcdef';
const internalAuth = createInternalAuth(INTERNAL_SECRET);
export const logger = createLogger('wallet-test', 'silent');
export const CHARGES = '/api/v1/wallet/charges';

export interface Answer {
  status: number;
  contentType: string;
  body: Record<string, unknown>;
}

/** One HTTP call signed as the gateway would sign it for `userId` (no `userId` = no credentials at all). */
export async function call(
  baseUrl: string,
  {
    method = 'GET',
    path: p = '/api/v1/wallet',
    userId,
    body,
    rawBody,
    headers: extra = {},
  }: { method?: string; path?: string; userId?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...extra };
  if (userId) headers['x-internal-auth'] = await internalAuth.sign({ userId, access: 'user' });
  if (body !== undefined || rawBody !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${baseUrl}${p}`, { method, headers, body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : {} };
}

/** `POST /wallet/charges` as `userId` with an Idempotency-Key (a fresh one unless given). */
export const charge = (baseUrl: string, userId: string, body: unknown, key: string = randomUUID()) =>
  call(baseUrl, { method: 'POST', path: CHARGES, userId, body, headers: { 'idempotency-key': key } });

export interface Instance {
  url: string;
  db: Database;
}

type DebitPayload = NewEvent<'wallet.debit-requested'>['payload'];
type RefundPayload = NewEvent<'wallet.refund-requested'>['payload'];

/**
 * A migrated database of the test's own and two wallet instances on it, each with its own pool and
 * HTTP server, as two processes would have. Consumers are either driven directly (`debit`, `refund`:
 * the handler in a transaction of its own, as the consumer runs it) or, after `startMessaging()`,
 * through real Kafka topics of the test's own with a relay publishing the replies.
 */
export async function createWalletHarness({ maxCharge = DEFAULT_MAX_CHARGE, poolMax = 10, idempotencyLockMs }: { maxCharge?: number; poolMax?: number; idempotencyLockMs?: number } = {}) {
  const database: TestDatabase = await createTestDatabase('wallet', 5);
  await migrateLatest(database.db, path.resolve(__dirname, '../migrations'));
  const servers: RunningServer[] = [];
  const pools: Database[] = [];
  const prefix = `${uniqueName('wallet')}.`;
  let relay: OutboxRelay | undefined;
  let consumer: EventConsumer | undefined;
  let producer: Producer | undefined;
  const outbox = createOutboxWriter({ topicPrefix: prefix, onCommitted: () => relay?.wake() });

  async function startInstance(): Promise<Instance> {
    const db = createDatabase({ url: database.url, poolMax });
    pools.push(db);
    const idempotency = createIdempotencyStore({ db, lockMs: idempotencyLockMs });
    const { app } = createApp({ logger, metrics: createMetricsRegistry('wallet'), readiness: {}, internalAuth, db, idempotency, maxCharge });
    const server = await startServer(app, { port: 0, host: '127.0.0.1' });
    servers.push(server);
    return { url: `http://127.0.0.1:${server.port}`, db };
  }

  const a = await startInstance();
  const b = await startInstance();
  const { db } = database;
  const handlers = { ...debitRequestedHandlers(outbox, logger), ...refundRequestedHandlers(outbox, logger) };
  const onDebit = handlers['wallet.debit-requested'] as EventHandler<'wallet.debit-requested'>;
  const onRefund = handlers['wallet.refund-requested'] as EventHandler<'wallet.refund-requested'>;
  const ctx = { topic: 'test', partition: 0, offset: '0' };
  const groupId = uniqueName('wallet');

  return {
    a,
    b,
    db,
    prefix,
    groupId,

    /** Applies `wallet.debit-requested` as the consumer would, on `pool`. */
    async debit(payload: DebitPayload, pool: Database = a.db) {
      const event = encodeEvent({ type: 'wallet.debit-requested', key: payload.paymentId, payload });
      await pool.transaction((trx) => onDebit(event, { trx, ...ctx }));
      return event;
    },
    /** Applies `wallet.refund-requested` as the consumer would, on `pool`. */
    async refund(payload: RefundPayload, pool: Database = a.db) {
      const event = encodeEvent({ type: 'wallet.refund-requested', key: payload.paymentId, payload });
      await pool.transaction((trx) => onRefund(event, { trx, ...ctx }));
      return event;
    },

    /** Topics under the harness prefix, the relay, the real consumer (group `groupId`) and a producer. */
    async startMessaging() {
      await createTestTopics(prefix);
      relay = createOutboxRelay({ db: a.db, databaseUrl: database.url, kafka: testKafka(), logger, pollIntervalMs: 100, retryBaseMs: 20 });
      await relay.start();
      consumer = createEventConsumer({ kafka: testKafka(), db: a.db, logger, groupId, topicPrefix: prefix, retryBaseMs: 10, handlers });
      await consumer.start();
      producer = testKafka().producer();
      await producer.connect();
    },
    /** Sends envelopes as the saga's relay would (JSON value, the payment id as key). */
    async send(...envelopes: ReturnType<typeof encodeEvent>[]) {
      await producer!.send({
        topic: topicFor(envelopes[0].type, prefix),
        messages: envelopes.map((e) => ({ key: (e.payload as { paymentId: string }).paymentId, value: JSON.stringify(e) })),
      });
    },
    /** Waits until the consumer has recorded every one of `ids`. */
    async processed(ids: string[], label = 'messages applied') {
      await waitFor(async () => (await db('processed_messages').where({ consumer: groupId }).whereIn('message_id', ids)).length === ids.length, { label, timeoutMs: 30_000 });
    },
    /**
     * Every event of `type` the harness's outbox holds, read back from its Kafka topic once the relay
     * has published them all (each once, by event id: a rebalance or a relay re-send may repeat one).
     */
    async published(type: EventType) {
      await waitFor(async () => !(await db('outbox').whereNull('published_at').first()), { label: 'outbox drained' });
      const expected = new Set<string>(await db('outbox').where({ type }).pluck('event_id'));
      return readAll(topicFor(type, prefix), expected);
    },

    balance: async (userId: string) => (await db('accounts').where({ user_id: userId }).first())?.balance ?? 0,
    ledger: (userId: string) => db('ledger').where({ user_id: userId }).orderBy('id'),
    decisions: (paymentId: string) => db('payment_decisions').where({ payment_id: paymentId }).orderBy('op'),
    /** Outbox events of `type`, oldest first. */
    async events(type: string): Promise<{ key: string; payload: Record<string, unknown>; causationId: string | null }[]> {
      const rows: { key: string; envelope: { payload: Record<string, unknown>; causationId: string | null } }[] = await db('outbox').where({ type }).orderBy('id');
      return rows.map((r) => ({ key: r.key, payload: r.envelope.payload, causationId: r.envelope.causationId }));
    },
    /** Everything a refused request must leave untouched. */
    async snapshot() {
      const [accounts, ledger, decisions, keys, outboxRows] = await Promise.all([
        db('accounts').orderBy('user_id'),
        db('ledger').orderBy('id'),
        db('payment_decisions').orderBy(['payment_id', 'op']),
        db('idempotency_keys').orderBy(['scope', 'key']),
        db('outbox').count({ n: '*' }).first(),
      ]);
      return { accounts, ledger, decisions, keys, outbox: outboxRows };
    },
    conservationViolations: () => conservationViolations(db),

    async cleanup() {
      await producer?.disconnect();
      await consumer?.stop();
      await relay?.stop();
      for (const server of servers) await server.close(100);
      for (const pool of pools) await pool.destroy();
      await database.drop();
      if (relay) await deleteTestTopics(prefix);
    },
  };
}

type Published = { key: string | undefined; envelope: { id: string; causationId: string | null; payload: Record<string, unknown> } };

/** Reads `topic` from the beginning with a fresh group until every envelope id in `ids` has arrived; in topic order per partition. */
async function readAll(topic: string, ids: Set<string>, timeoutMs = 30_000): Promise<Published[]> {
  if (ids.size === 0) return [];
  const reader = testKafka().consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
  const seen = new Map<string, Published>();
  await reader.connect();
  try {
    await reader.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${[...ids].filter((id) => seen.has(id)).length}/${ids.size} events on ${topic}`)), timeoutMs);
      reader
        .run({
          eachMessage: async ({ message }) => {
            const envelope = JSON.parse(message.value!.toString()) as Published['envelope'];
            if (!seen.has(envelope.id)) seen.set(envelope.id, { key: message.key?.toString(), envelope });
            if ([...ids].every((id) => seen.has(id))) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await reader.disconnect();
  }
  return [...seen.values()].filter((m) => ids.has(m.envelope.id));
}

export type WalletHarness = Awaited<ReturnType<typeof createWalletHarness>>;
