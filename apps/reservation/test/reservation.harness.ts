import { migrateLatest, type Database } from '@ticketing/db';
import { createInternalAuth } from '@ticketing/http';
import { encodeEvent, type EventHandler, type NewEvent } from '@ticketing/messaging';
import { createLogger } from '@ticketing/telemetry';
import { createTestDatabase, createTestTopics, deleteTestTopics, testServiceEnv, uniqueName, type TestDatabase } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { HoldExpirySweeper } from '../src/holds/hold-expiry.sweeper';
import { reservationService } from '../src/reservation.service';

export const INTERNAL_SECRET = 'reservation-test-internal-secret-0123456789';
const internalAuth = createInternalAuth(INTERNAL_SECRET);
export const logger = createLogger('reservation-test', 'silent');

export interface Answer {
  status: number;
  contentType: string;
  body: Record<string, unknown>;
}

/** The concert of every schedule the harness publishes unless told otherwise, and the sale `active` calls are admitted to by default. */
export const HARNESS_CONCERT = '0192f7a0-0000-7000-8000-00000000c0c0';

/**
 * One HTTP call signed as the gateway would sign it for `userId` (no `userId` = no credentials at
 * all). An `active` call is admitted to `sale` (default: the harness concert's; null = no sale named).
 */
export async function call(
  baseUrl: string,
  {
    method = 'GET',
    path: p = '/api/v1/reservations',
    userId,
    access = 'active',
    sale,
    body,
    rawBody,
  }: { method?: string; path?: string; userId?: string; access?: 'user' | 'active'; sale?: { concertId: string; ticket: number } | null; body?: unknown; rawBody?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const admittedTo = sale === undefined ? (access === 'active' ? { concertId: HARNESS_CONCERT, ticket: 1 } : undefined) : (sale ?? undefined);
  if (userId) headers['x-internal-auth'] = await internalAuth.sign({ userId, access, ...(admittedTo ? { sale: admittedTo } : {}) });
  if (body !== undefined || rawBody !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}${p}`, { method, headers, body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : {} };
}

export const hold = (baseUrl: string, userId: string, scheduleId: string, seatNo: number) => call(baseUrl, { method: 'POST', userId, body: { scheduleId, seatNo } });

export interface Instance {
  url: string;
  db: Database;
  sweeper: HoldExpirySweeper;
}

/**
 * A migrated database of the test's own and two reservation instances on it, started through the
 * service runtime as main.ts starts them (each with its own pool, HTTP server and sweeper, which
 * hears of every hold its instance makes, as two processes would have), without messaging and with their sweepers stopped: events stay in the
 * outbox table, where the tests read them, and events are applied through the runtime's combined
 * handlers (`publishSchedule`, `confirm`). `startMessaging()` adds a third instance with the relay and
 * the real consumer on topics of the test's own.
 */
export async function createReservationHarness({ holdTtlSeconds = 300, holdLimit = 4, sweepIntervalMs = 200, poolMax = 10 } = {}) {
  const database: TestDatabase = await createTestDatabase('reservation', 5);
  await migrateLatest(database.db, path.resolve(__dirname, '../migrations'));
  const prefix = `${uniqueName('reservation')}.`;
  const groupId = uniqueName('reservation');
  const env = testServiceEnv('reservation', {
    databaseUrl: database.url,
    topicPrefix: prefix,
    overrides: {
      INTERNAL_AUTH_SECRET: INTERNAL_SECRET,
      HOLD_TTL_SECONDS: String(holdTtlSeconds),
      HOLD_LIMIT: String(holdLimit),
      HOLD_SWEEP_INTERVAL_MS: String(sweepIntervalMs),
      DATABASE_POOL_MAX: String(poolMax),
      OUTBOX_POLL_INTERVAL_MS: '100',
    },
  });
  const running: Awaited<ReturnType<typeof reservationService.start>>[] = [];
  let messaging = false;

  async function startInstance(withMessaging = false) {
    const instance = await reservationService.start({ env, logger, messaging: withMessaging, jobs: withMessaging, consumer: { groupId, retryBaseMs: 10 } });
    running.push(instance);
    return instance;
  }
  const asInstance = (instance: Awaited<ReturnType<typeof startInstance>>): Instance => ({
    url: instance.url,
    db: instance.db,
    sweeper: instance.parts.jobs['hold-expiry-sweeper'],
  });

  const first = await startInstance();
  const a = asInstance(first);
  const b = asInstance(await startInstance());
  const { db } = database;
  const onSchedulePublished = first.handlers['schedule.published'] as EventHandler<'schedule.published'>;
  const onConfirmRequested = first.handlers['reservation.confirm-requested'] as EventHandler<'reservation.confirm-requested'>;
  const ctx = { topic: 'test', partition: 0, offset: '0' };

  return {
    a,
    b,
    db,
    database,
    prefix,
    groupId,

    /** Topics under the harness prefix and an instance with the relay and the real consumer (group `groupId`). */
    async startMessaging() {
      await createTestTopics(prefix);
      messaging = true;
      await startInstance(true);
    },

    /** Applies `schedule.published` as the consumer would (the Kafka path has its own test). */
    async publishSchedule(options: SchedulePlan = {}) {
      const scheduleId = randomUUID();
      const event = encodeEvent({ type: 'schedule.published', key: scheduleId, payload: schedulePublished(scheduleId, options) });
      await db.transaction((trx) => onSchedulePublished(event, { trx, ...ctx }));
      return scheduleId;
    },

    /** Applies `reservation.confirm-requested` as the consumer would, on `pool`. */
    async confirm(payload: { paymentId: string; reservationId: string; userId: string }, pool: Database = a.db) {
      const event = encodeEvent({ type: 'reservation.confirm-requested', key: payload.paymentId, payload });
      await pool.transaction((trx) => onConfirmRequested(event, { trx, ...ctx }));
      return event;
    },

    seat: (scheduleId: string, seatNo: number) => db('seats').where({ schedule_id: scheduleId, seat_no: seatNo }).first(),
    reservation: (id: string) => db('reservations').where({ id }).first(),
    /** Outbox events, oldest first, optionally of one type. */
    async events(type?: string): Promise<{ type: string; key: string; payload: Record<string, unknown>; causationId: string | null }[]> {
      const rows: { type: string; key: string; envelope: { payload: Record<string, unknown>; causationId: string | null } }[] = await db('outbox')
        .modify((q) => (type ? q.where({ type }) : q))
        .orderBy('id');
      return rows.map((r) => ({ type: r.type, key: r.key, payload: r.envelope.payload, causationId: r.envelope.causationId }));
    },
    /**
     * When each hold was released, by reservation id: the `occurredAt` of its `hold.expired`, stamped
     * in the sweeper's transaction (the time a poll notices a release is only an upper bound of it).
     */
    async releaseTimes(): Promise<Map<string, number>> {
      const rows: { envelope: { payload: { reservationId: string }; occurredAt: string } }[] = await db('outbox').where({ type: 'hold.expired' });
      return new Map(rows.map((r) => [r.envelope.payload.reservationId, Date.parse(r.envelope.occurredAt)]));
    },
    /** Everything a refused request must leave untouched. */
    async snapshot() {
      const [seats, reservations, holdCounts, outboxRows] = await Promise.all([
        db('seats').orderBy(['schedule_id', 'seat_no']),
        db('reservations').orderBy('id'),
        db('hold_counts').orderBy(['user_id', 'schedule_id']),
        db('outbox').count({ n: '*' }).first(),
      ]);
      return { seats, reservations, holdCounts, outbox: outboxRows };
    },

    async cleanup() {
      for (const instance of running.reverse()) await instance.stop();
      await database.drop();
      if (messaging) await deleteTestTopics(prefix);
    },
  };
}

export type ReservationHarness = Awaited<ReturnType<typeof createReservationHarness>>;

export interface SchedulePlan {
  seats?: number;
  price?: number;
  seatNos?: number[];
  opensInMs?: number;
  closesInMs?: number;
  /** Default: the harness concert. */
  concertId?: string;
}

/** A `schedule.published` payload with seats 1..`seats` (or exactly `seatNos`). */
export function schedulePublished(
  scheduleId: string,
  { seats = 50, price = 100_000, seatNos, opensInMs = -60_000, closesInMs = 86_400_000, concertId = HARNESS_CONCERT }: SchedulePlan = {},
): NewEvent<'schedule.published'>['payload'] {
  const now = Date.now();
  return {
    scheduleId,
    concertId,
    startsAt: new Date(now + 2 * 86_400_000).toISOString(),
    bookingOpensAt: new Date(now + opensInMs).toISOString(),
    bookingClosesAt: new Date(now + closesInMs).toISOString(),
    seats: (seatNos ?? Array.from({ length: seats }, (_, i) => i + 1)).map((seatNo) => ({ seatNo, price })),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
