import { randomUUID } from 'node:crypto';
import { createDatabase, type Database } from '@ticketing/db';
import { createLogger } from '@ticketing/telemetry';
import { createTestDatabase, createTestTopics, deleteTestTopics, testKafka, uniqueName, type TestDatabase } from '@ticketing/testing';
import {
  createEventConsumer,
  createMessagingTables,
  createOutboxRelay,
  createOutboxWriter,
  type EventConsumer,
  type EventConsumerOptions,
  type EventHandlers,
  type NewEvent,
  type OutboxRelay,
  type OutboxRelayOptions,
} from '../src';

export type HeldEvent = NewEvent<'reservation.held'>;

/** A `reservation.held` event for aggregate `key` carrying a sequence number (as its seat version). */
export function heldEvent(key: string, seq: number, extra: Partial<HeldEvent> = {}): HeldEvent {
  return {
    type: 'reservation.held',
    key,
    payload: {
      reservationId: key,
      scheduleId: '00000000-0000-4000-8000-000000000001',
      seatNo: 1,
      userId: '00000000-0000-4000-8000-000000000002',
      seatVersion: seq,
      price: 1000,
      holdExpiresAt: new Date(Date.now() + 300_000).toISOString(),
    },
    ...extra,
  };
}

export interface Effect {
  id: number;
  event_id: string;
  key: string;
  seq: number;
}

/**
 * A database, topics and helpers of the test's own. The consumer's effect is deliberately not
 * idempotent by itself (a plain insert), so only the consumer's message-id record can keep it exactly-once.
 */
export async function createBackbone(label: string) {
  const prefix = `${uniqueName(label)}.`;
  await createTestTopics(prefix);
  const database: TestDatabase = await createTestDatabase(label, 20);
  const { db } = database;
  await createMessagingTables(db);
  await db.schema.createTable('effects', (t) => {
    t.bigIncrements('id');
    t.uuid('event_id').notNullable();
    t.text('key').notNullable();
    t.integer('seq').notNullable();
  });
  const logger = createLogger(label, 'silent');
  const outbox = createOutboxWriter({ topicPrefix: prefix });
  const stoppers: (() => Promise<void>)[] = [];
  const extraPools: Database[] = [];

  const effectHandlers: EventHandlers = {
    'reservation.held': async (event, { trx }) => {
      await trx('effects').insert({ event_id: event.id, key: event.payload.reservationId, seq: event.payload.seatVersion });
    },
  };

  return {
    prefix,
    database,
    db,
    logger,
    outbox,
    topic: `${prefix}reservation.held`,

    /** Commits `events` in one transaction through the outbox. */
    async commit(...events: HeldEvent[]) {
      return db.transaction((trx) => outbox.append(trx, ...events));
    },

    /** A relay with its own pool and Kafka client, as a separate instance would have. */
    async startRelay(options: Partial<OutboxRelayOptions> = {}): Promise<OutboxRelay> {
      const pool = createDatabase({ url: database.url, poolMax: 4 });
      extraPools.push(pool);
      const relay = createOutboxRelay({ db: pool, databaseUrl: database.url, kafka: testKafka(), logger, pollIntervalMs: 200, ...options });
      await relay.start();
      stoppers.push(() => relay.stop());
      return relay;
    },

    async startConsumer(options: Partial<EventConsumerOptions> = {}): Promise<EventConsumer> {
      const consumer = createEventConsumer({
        kafka: testKafka(),
        db,
        logger,
        groupId: uniqueName('group'),
        topicPrefix: prefix,
        handlers: effectHandlers,
        retryBaseMs: 10,
        ...options,
      });
      await consumer.start();
      stoppers.push(() => consumer.stop());
      return consumer;
    },

    effects: (): Promise<Effect[]> => db('effects').orderBy('id'),

    async cleanup() {
      for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
      for (const pool of extraPools) await pool.destroy().catch(() => undefined);
      await database.drop();
      await deleteTestTopics(prefix);
    },
  };
}

export type Backbone = Awaited<ReturnType<typeof createBackbone>>;

export const newKey = () => randomUUID();
