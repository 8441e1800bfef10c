import { DEFAULT_MAX_CHARGE, topicFor, type EventType } from '@ticketing/contracts';
import { migrateLatest, type Database } from '@ticketing/db';
import { createInternalAuth } from '@ticketing/http';
import { encodeEvent, type EventHandler, type NewEvent } from '@ticketing/messaging';
import type { RunningService } from '@ticketing/service-runtime';
import { createLogger } from '@ticketing/telemetry';
import { createTestDatabase, createTestTopics, deleteTestTopics, testKafka, testServiceEnv, uniqueName, waitFor, type TestDatabase } from '@ticketing/testing';
import type { Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { walletService } from '../src/wallet.service';
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
 * A migrated database of the test's own and two wallet instances on it, started through the service
 * runtime as main.ts starts them (each with its own pool and HTTP server, as two processes would
 * have), without messaging: consumers are either driven directly (`debit`, `refund`: the runtime's
 * combined handler in a transaction of its own, as the consumer runs it) or, after
 * `startMessaging()`, through real Kafka topics of the test's own by a third instance with its relay
 * and consumer.
 */
export async function createWalletHarness({ maxCharge = DEFAULT_MAX_CHARGE, poolMax = 10, idempotencyLockMs }: { maxCharge?: number; poolMax?: number; idempotencyLockMs?: number } = {}) {
  const database: TestDatabase = await createTestDatabase('wallet', 5);
  await migrateLatest(database.db, path.resolve(__dirname, '../migrations'));
  const prefix = `${uniqueName('wallet')}.`;
  const groupId = uniqueName('wallet');
  const service = walletService({ idempotencyLockMs });
  const env = testServiceEnv('wallet', {
    databaseUrl: database.url,
    topicPrefix: prefix,
    overrides: { INTERNAL_AUTH_SECRET: INTERNAL_SECRET, MAX_CHARGE: String(maxCharge), DATABASE_POOL_MAX: String(poolMax), OUTBOX_POLL_INTERVAL_MS: '100' },
  });
  const running: RunningService<unknown, unknown, unknown>[] = [];
  let producer: Producer | undefined;
  let messaging = false;

  async function startInstance(withMessaging: boolean) {
    const instance = await service.start({ env, logger, messaging: withMessaging, consumer: { groupId, retryBaseMs: 10 }, relay: { retryBaseMs: 20 } });
    running.push(instance);
    return instance;
  }

  const first = await startInstance(false);
  const second = await startInstance(false);
  const a: Instance = { url: first.url, db: first.db };
  const b: Instance = { url: second.url, db: second.db };
  const { db } = database;
  const onDebit = first.handlers['wallet.debit-requested'] as EventHandler<'wallet.debit-requested'>;
  const onRefund = first.handlers['wallet.refund-requested'] as EventHandler<'wallet.refund-requested'>;
  const ctx = { topic: 'test', partition: 0, offset: '0' };

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

    /** Topics under the harness prefix, a wallet instance with its relay and real consumer (group `groupId`), and a producer. */
    async startMessaging() {
      await createTestTopics(prefix);
      messaging = true;
      await startInstance(true);
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
      for (const instance of running.reverse()) await instance.stop();
      await database.drop();
      if (messaging) await deleteTestTopics(prefix);
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
