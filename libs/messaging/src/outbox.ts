import { context, propagation } from '@opentelemetry/api';
import { topicFor, type EventEnvelope, type EventPayload, type EventType } from '@ticketing/contracts';
import type { Knex } from 'knex';
import { encodeEvent, type NewEvent } from './codec';
import { OUTBOX_CHANNEL, OUTBOX_TABLE } from './schema';

export interface OutboxWriter {
  /**
   * Writes events in the caller's transaction: they are published if and only if it commits.
   * Write the aggregate's own row first (it takes the row lock), so per-key order follows commit order.
   */
  append<T extends EventType>(trx: Knex.Transaction, ...events: NewEvent<T>[]): Promise<EventEnvelope<T, EventPayload<T>>[]>;
}

export interface OutboxWriterOptions {
  /** Prepended to every topic name (tests isolate themselves this way). */
  topicPrefix?: string;
  /** Called after a transaction that appended events commits: wire it to the local relay's `wake`. */
  onCommitted?: () => void;
  /**
   * Also signal relays in other processes with PostgreSQL NOTIFY at commit. Off by default: NOTIFY
   * serializes committing transactions on a global lock, which caps write throughput; a relay runs
   * in every writing process, so the in-process `onCommitted` wake-up is enough there.
   */
  notify?: boolean;
}

/** The transactional outbox: validates each event against its contract and stores it with the trace context. */
export function createOutboxWriter({ topicPrefix = '', onCommitted, notify = false }: OutboxWriterOptions = {}): OutboxWriter {
  return {
    async append(trx, ...events) {
      if (events.length === 0) return [];
      const traceContext: Record<string, string> = {};
      propagation.inject(context.active(), traceContext);
      const envelopes = events.map((event) => encodeEvent(event));
      await trx(OUTBOX_TABLE).insert(
        envelopes.map((envelope, i) => ({
          event_id: envelope.id,
          topic: topicFor(envelope.type, topicPrefix),
          key: events[i].key,
          type: envelope.type,
          envelope,
          trace_context: traceContext,
        })),
      );
      // Delivered on commit only, and folded into one notification per transaction by PostgreSQL.
      if (notify) await trx.raw('select pg_notify(?, ?)', [OUTBOX_CHANNEL, '']);
      // Resolves only if the transaction commits; a rollback wakes nobody.
      if (onCommitted) trx.executionPromise.then(onCommitted, () => undefined);
      return envelopes;
    },
  };
}
