import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { topicFor, type EventPayload, type EventType, type SaleResponse } from '@ticketing/contracts';
import { migrateLatest } from '@ticketing/db';
import { createInternalAuth, type AccessLevel, type CallerIdentity } from '@ticketing/http';
import { encodeEvent, type AnyEnvelope } from '@ticketing/messaging';
import { createLogger } from '@ticketing/telemetry';
import { createTestDatabase, createTestTopics, deleteTestTopics, readTopic, testKafka, testServiceEnv, uniqueName, waitFor, type TestDatabase } from '@ticketing/testing';
import type { KafkaMessage } from 'kafkajs';
import { catalogService } from '../src/catalog.service';

const INTERNAL_SECRET = 'catalog-test-internal-secret-0123456789ab';

export interface Answer {
  status: number;
  contentType: string;
  body: Record<string, unknown>;
  headers: Headers;
}

export interface CallOptions {
  method?: string;
  /** The identity the gateway vouches for (with the sale it admitted the caller to); `null` sends no credentials at all. */
  as?: CallerIdentity | null;
  body?: unknown;
  /** Sent as is (for malformed JSON). */
  rawBody?: string;
  /** Signs with this secret instead of the gateway's (a forged credential). */
  secret?: string;
  headers?: Record<string, string>;
}

/**
 * A concert-catalog of the test's own: a migrated database, topics under a private prefix, the
 * outbox relay, the HTTP app on a free port, and the seat status consumer. Calls are signed the way
 * the gateway signs them.
 */
export async function createCatalogHarness(label = 'catalog') {
  const logger = createLogger(label, 'silent');
  const prefix = `${uniqueName(label)}.`;
  await createTestTopics(prefix);
  const database: TestDatabase = await createTestDatabase(label, 10);
  const { db } = database;
  await migrateLatest(db, path.resolve(__dirname, '../migrations'));
  const stoppers: (() => Promise<void>)[] = [];

  const processed: { event: AnyEnvelope; outcome: 'applied' | 'duplicate' }[] = [];
  // The catalog as main.ts starts it (relay, seat status consumer, HTTP app), on the test's database and topics.
  const service = await catalogService.start({
    env: testServiceEnv('concert-catalog', { databaseUrl: database.url, topicPrefix: prefix, overrides: { INTERNAL_AUTH_SECRET: INTERNAL_SECRET, OUTBOX_POLL_INTERVAL_MS: '200' } }),
    logger,
    consumer: { groupId: uniqueName('catalog'), retryBaseMs: 10, onProcessed: (event, outcome) => processed.push({ event, outcome }) },
  });
  stoppers.push(() => service.stop());
  const baseUrl = `${service.url}/api/v1`;

  const producer = testKafka().producer();
  await producer.connect();
  stoppers.push(() => producer.disconnect());

  async function call(pathname: string, options: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    const as = options.as === undefined ? { access: 'public' as AccessLevel } : options.as;
    if (as) headers['x-internal-auth'] = await createInternalAuth(options.secret ?? INTERNAL_SECRET).sign(as);
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl}${pathname}`, { method: options.method ?? 'GET', headers, body });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : {}, headers: res.headers };
  }

  const admin = { access: 'admin' as const };

  return {
    db,
    prefix,
    call,
    admin,
    processed,

    async createConcert(overrides: Record<string, unknown> = {}): Promise<string> {
      const res = await call('/admin/concerts', { method: 'POST', as: admin, body: { title: 'Night Songs', artist: 'The Lanterns', venue: 'Olympic Hall', ...overrides } });
      if (res.status !== 201) throw new Error(`create concert: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.concertId as string;
    },

    async createSchedule(concertId: string, overrides: Record<string, unknown> = {}): Promise<string> {
      const res = await call(`/admin/concerts/${concertId}/schedules`, { method: 'POST', as: admin, body: { ...openWindow(), ...('priceSections' in overrides ? {} : { price: 50_000 }), ...overrides } });
      if (res.status !== 201) throw new Error(`create schedule: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.scheduleId as string;
    },

    /** Sets the concert's sale (open now, queue mode, unless overridden) and returns the saved sale. */
    async configureSale(concertId: string, overrides: Record<string, unknown> = {}): Promise<SaleResponse> {
      const now = new Date().toISOString();
      const res = await call(`/admin/concerts/${concertId}/sale`, {
        method: 'PUT',
        as: admin,
        body: { queueOpensAt: now, saleOpensAt: now, maxActive: 100, admitPerMinute: 600, activeMinutes: 5, ...overrides },
      });
      if (res.status !== 200) throw new Error(`configure sale: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as unknown as SaleResponse;
    },

    /** Sends events as the reservation service's relay would, in exactly the given order. */
    async deliver(events: DeliveredEvent[]): Promise<void> {
      for (let i = 0; i < events.length; i += 100) {
        const chunk = events.slice(i, i + 100);
        await producer.sendBatch({
          acks: -1,
          topicMessages: chunk.map(({ envelope, key }) => ({ topic: topicFor(envelope.type, prefix), messages: [{ key, value: JSON.stringify(envelope) }] })),
        });
      }
    },

    /** Waits until the consumer has taken `count` messages in all (applied or duplicate). */
    async waitProcessed(count: number, timeoutMs = 30_000): Promise<void> {
      await waitFor(() => processed.length >= count, { timeoutMs, label: `${count} processed messages (have ${processed.length})` });
    },

    /** Reads every message on an event topic of this harness until `count` have arrived. */
    readTopic: (type: EventType, count: number, timeoutMs?: number): Promise<KafkaMessage[]> => readTopic(topicFor(type, prefix), count, timeoutMs),

    async count(table: string): Promise<number> {
      const [{ n }] = await db(table).count<{ n: number }[]>({ n: '*' });
      return Number(n);
    },

    async cleanup() {
      for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
      await database.drop();
      await deleteTestTopics(prefix);
    },
  };
}

export type CatalogHarness = Awaited<ReturnType<typeof createCatalogHarness>>;

/** A booking window open now, for a show a week ahead. */
export function openWindow(now = Date.now()) {
  const hour = 3_600_000;
  return {
    startsAt: new Date(now + 7 * 24 * hour).toISOString(),
    bookingOpensAt: new Date(now - hour).toISOString(),
    bookingClosesAt: new Date(now + 6 * 24 * hour).toISOString(),
  };
}

export interface DeliveredEvent {
  key: string;
  envelope: AnyEnvelope;
}

export type SeatEvent = 'reservation.held' | 'reservation.cancelled' | 'hold.expired' | 'reservation.confirmed';

/** A reservation-service seat event as it would be published (its own id, so a re-send is a duplicate). */
export function seatEvent(type: SeatEvent, fact: { scheduleId: string; seatNo: number; seatVersion: number; userId?: string; reservationId?: string }): DeliveredEvent {
  const base = { reservationId: fact.reservationId ?? randomUUID(), scheduleId: fact.scheduleId, seatNo: fact.seatNo, userId: fact.userId ?? randomUUID(), seatVersion: fact.seatVersion };
  const payload: EventPayload<SeatEvent> =
    type === 'reservation.held'
      ? { ...base, price: 50_000, holdExpiresAt: new Date(Date.now() + 300_000).toISOString() }
      : type === 'reservation.confirmed'
        ? { ...base, paymentId: randomUUID() }
        : base;
  const key = `${fact.scheduleId}:${fact.seatNo}`;
  return { key, envelope: encodeEvent({ type, key, payload } as Parameters<typeof encodeEvent<SeatEvent>>[0]) as AnyEnvelope };
}
