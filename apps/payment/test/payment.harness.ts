import { topicFor, type EventPayload, type EventType } from '@ticketing/contracts';
import { migrateLatest, newId } from '@ticketing/db';
import { createInternalAuth } from '@ticketing/http';
import { decodeEvent, encodeEvent, type AnyEnvelope } from '@ticketing/messaging';
import { createLogger, type Registry } from '@ticketing/telemetry';
import { createTestDatabase, createTestTopics, deleteTestTopics, testKafka, testServiceEnv, uniqueName, waitFor, type TestDatabase } from '@ticketing/testing';
import type { Consumer, Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { SagaRetrier } from '../src/checkout/saga-retrier';
import { paymentService } from '../src/payment.service';

export const INTERNAL_SECRET = 'payment-test-internal-secret-0123456789abc';
const internalAuth = createInternalAuth(INTERNAL_SECRET);
export const logger = createLogger('payment-test', 'silent');

export interface Answer {
  status: number;
  contentType: string;
  location: string | null;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

/** The concert of every hold the harness announces unless told otherwise, and the sale `active` calls are admitted to by default. */
export const HARNESS_CONCERT = '0192f7a0-0000-7000-8000-00000000c0c1';
/** The queue ticket of that default admission. */
export const HARNESS_TICKET = 41;

/**
 * One HTTP call signed as the gateway would sign it for `userId` (no `userId` = no credentials). An
 * `active` call is admitted to `sale` (default: the harness concert's, ticket HARNESS_TICKET; null = no sale named).
 */
export async function call(
  baseUrl: string,
  {
    method = 'GET',
    path: p,
    userId,
    access = 'active',
    sale,
    body,
    key,
    rawBody,
  }: { method?: string; path: string; userId?: string; access?: 'user' | 'active'; sale?: { concertId: string; ticket: number } | null; body?: unknown; key?: string; rawBody?: string },
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const admittedTo = sale === undefined ? (access === 'active' ? { concertId: HARNESS_CONCERT, ticket: HARNESS_TICKET } : undefined) : (sale ?? undefined);
  if (userId) headers['x-internal-auth'] = await internalAuth.sign({ userId, access, ...(admittedTo ? { sale: admittedTo } : {}) });
  if (body !== undefined || rawBody !== undefined) headers['content-type'] = 'application/json';
  if (key !== undefined) headers['idempotency-key'] = key;
  const res = await fetch(`${baseUrl}${p}`, { method, headers, body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    location: res.headers.get('location'),
    retryAfter: res.headers.get('retry-after'),
    body: text ? JSON.parse(text) : {},
  };
}

/** How the simulated wallet and reservation service answer the saga's commands. */
export interface Responders {
  /** 'debit' | 'reject' | 'silent' (no answer: the service is down). Default: debit. */
  wallet: (payload: EventPayload<'wallet.debit-requested'>) => 'debit' | 'reject' | 'silent';
  reservation: (payload: EventPayload<'reservation.confirm-requested'>) => 'confirm' | 'HOLD_EXPIRED' | 'ALREADY_SOLD' | 'silent';
  refunds: (payload: EventPayload<'wallet.refund-requested'>) => 'refund' | 'silent';
}

export interface PaymentInstance {
  url: string;
  registry: Registry;
  retrier: SagaRetrier;
  stop(): Promise<void>;
}

/**
 * A migrated database of the test's own, topics under a prefix of its own on the real broker, and
 * payment instances started through the service runtime as main.ts starts them (consumer, relay,
 * saga retrier, waiter, key purge). The wallet
 * and the reservation service are played by the test: a real Kafka consumer answers the saga's
 * commands as `responders` say, through real topics, so the saga is exercised over real Kafka.
 */
export async function createPaymentHarness({ syncWaitMs = 5_000, stepTimeoutMs = 5_000, stallAfterMs = 30_000, retryScanMs = 100, holdLookupWaitMs = 2_000 } = {}) {
  const prefix = `${uniqueName('payment')}.`;
  await createTestTopics(prefix);
  const database: TestDatabase = await createTestDatabase('payment', 5);
  await migrateLatest(database.db, path.resolve(__dirname, '../migrations'));
  const stoppers: (() => Promise<void>)[] = [];
  const commands: AnyEnvelope[] = [];
  const outcomes: AnyEnvelope[] = [];
  const responders: Responders = { wallet: () => 'debit', reservation: () => 'confirm', refunds: () => 'refund' };
  const debited = new Map<string, number>();

  const producer: Producer = testKafka().producer();
  await producer.connect();
  stoppers.push(() => producer.disconnect());

  async function publish<T extends EventType>(type: T, key: string, payload: EventPayload<T>, id?: string): Promise<AnyEnvelope> {
    const envelope = encodeEvent({ type, key, payload, id }) as AnyEnvelope;
    await producer.send({ topic: topicFor(type, prefix), messages: [{ key, value: JSON.stringify(envelope) }] });
    return envelope;
  }

  // The other side of the saga, answering over Kafka.
  const others: Consumer = testKafka().consumer({ groupId: uniqueName('others'), maxWaitTimeInMs: 50 });
  await others.connect();
  const commandTopics = (['wallet.debit-requested', 'reservation.confirm-requested', 'wallet.refund-requested', 'payment.completed', 'payment.failed'] as const).map((t) => topicFor(t, prefix));
  await others.subscribe({ topics: commandTopics, fromBeginning: true });
  await others.run({
    eachMessage: async ({ message }) => {
      const event = decodeEvent(message.value);
      if (event.type === 'payment.completed' || event.type === 'payment.failed') {
        outcomes.push(event);
        return;
      }
      commands.push(event);
      if (event.type === 'wallet.debit-requested') {
        const p = event.payload;
        const answer = responders.wallet(p);
        if (answer === 'debit') {
          debited.set(p.paymentId, p.amount);
          await publish('wallet.debited', p.paymentId, { ...p, balance: 0 });
        } else if (answer === 'reject') await publish('wallet.debit-rejected', p.paymentId, { ...p, reason: 'INSUFFICIENT_BALANCE' });
      } else if (event.type === 'reservation.confirm-requested') {
        const p = event.payload;
        const answer = responders.reservation(p);
        if (answer === 'confirm') {
          const hold = holds.get(p.reservationId)!;
          await publish('reservation.confirmed', `${hold.scheduleId}:${hold.seatNo}`, { ...p, scheduleId: hold.scheduleId, seatNo: hold.seatNo, seatVersion: hold.seatVersion + 1 });
        } else if (answer !== 'silent') await publish('reservation.confirm-rejected', p.paymentId, { reservationId: p.reservationId, paymentId: p.paymentId, reason: answer });
      } else if (event.type === 'wallet.refund-requested') {
        const p = event.payload;
        if (responders.refunds(p) === 'refund') await publish('wallet.refunded', p.paymentId, { ...p, balance: p.amount });
      }
    },
  });
  stoppers.push(() => others.disconnect());

  const holds = new Map<string, { scheduleId: string; seatNo: number; seatVersion: number }>();
  const env = testServiceEnv('payment', {
    databaseUrl: database.url,
    topicPrefix: prefix,
    overrides: {
      INTERNAL_AUTH_SECRET: INTERNAL_SECRET,
      OUTBOX_POLL_INTERVAL_MS: '200',
      PAYMENT_SYNC_WAIT_MS: String(syncWaitMs),
      HOLD_LOOKUP_WAIT_MS: String(holdLookupWaitMs),
      SAGA_STEP_TIMEOUT_MS: String(stepTimeoutMs),
      SAGA_RETRY_MAX_MS: String(stepTimeoutMs * 4),
      SAGA_STALL_AFTER_MS: String(stallAfterMs),
      SAGA_RETRY_SCAN_INTERVAL_MS: String(retryScanMs),
    },
  });

  async function startInstance(): Promise<PaymentInstance> {
    const running = await paymentService.start({ env, logger, consumer: { retryBaseMs: 10 } });
    stoppers.unshift(running.stop);
    return { url: `${running.url}/api/v1`, registry: running.metrics, retrier: running.parts.jobs['saga-retrier'], stop: running.stop };
  }

  const { db } = database;
  return {
    prefix,
    /**
     * Waits until the instances' consumer group has settled with `members` members, so a test does
     * not start in the middle of the rebalance their joining causes (Kafka pauses consumption then).
     */
    async settled(members: number) {
      const admin = testKafka().admin();
      await admin.connect();
      try {
        await waitFor(
          async () => {
            const { groups } = await admin.describeGroups([`${prefix}payment`]);
            return (groups[0]?.state === 'Stable' && groups[0].members.length === members) || undefined;
          },
          { timeoutMs: 60_000, intervalMs: 200, label: 'payment consumer group stable' },
        );
      } finally {
        await admin.disconnect();
      }
    },
    db,
    responders,
    commands,
    outcomes,
    debited,
    startInstance,
    publish,

    /**
     * A live hold of `userId`: publishes reservation.held as the reservation service would (its id a
     * version 7 uuid, as that service mints them), on a date of `concertId` (null: a hold announced
     * before sales existed, without one).
     */
    async hold(
      userId: string,
      { price = 120_000, ttlMs = 300_000, reservationId = newId(), concertId = HARNESS_CONCERT }: { price?: number; ttlMs?: number; reservationId?: string; concertId?: string | null } = {},
    ): Promise<string> {
      const scheduleId = randomUUID();
      const seatNo = 1 + Math.floor(Math.random() * 50);
      holds.set(reservationId, { scheduleId, seatNo, seatVersion: 1 });
      await publish('reservation.held', `${scheduleId}:${seatNo}`, {
        reservationId,
        scheduleId,
        seatNo,
        userId,
        seatVersion: 1,
        price,
        holdExpiresAt: new Date(Date.now() + ttlMs).toISOString(),
        ...(concertId ? { concertId } : {}),
      });
      return reservationId;
    },
    payment: (id: string) => db('payments').where({ id }).first(),
    commandsOf: (type: string, paymentId: string) => commands.filter((c) => c.type === type && (c.payload as { paymentId: string }).paymentId === paymentId),
    outcomesOf: (paymentId: string) => outcomes.filter((c) => (c.payload as { paymentId: string }).paymentId === paymentId),

    async cleanup() {
      for (const stop of stoppers) await stop().catch(() => undefined);
      await database.drop();
      await deleteTestTopics(prefix);
    },
  };
}

export type PaymentHarness = Awaited<ReturnType<typeof createPaymentHarness>>;
