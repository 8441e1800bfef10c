import { createPeriodicJob, type PeriodicJob } from '@ticketing/db';
import type { Logger } from '@ticketing/telemetry';
import type { Knex } from 'knex';
import { OUTBOX_TABLE, PROCESSED_TABLE } from './schema';

export interface PurgeOptions {
  /** Rows younger than this (by the database's clock) are kept. */
  retentionMs: number;
  /** Rows deleted per statement; a purge goes on while statements come back full. */
  batchSize?: number;
  /** Ends the purge after the statement in flight (shutdown). */
  signal?: AbortSignal;
}

// Both purges take rows oldest first from an index on their age, skip rows another instance is
// deleting at the same moment, and delete in short statements so no lock or transaction is long.
const PURGE_OUTBOX_SQL = `
delete from ${OUTBOX_TABLE} where id in (
  select id from ${OUTBOX_TABLE}
  where published_at < now() - make_interval(secs => ?)
  order by published_at
  limit ?
  for update skip locked
)`;

// By row address: a TID scan whatever the planner's statistics say (the rows are locked, so their
// address holds until the delete in the same statement; these rows are never updated anyway).
const PURGE_PROCESSED_SQL = `
delete from ${PROCESSED_TABLE} where ctid = any(array(
  select ctid from ${PROCESSED_TABLE}
  where processed_at < now() - make_interval(secs => ?)
  order by processed_at
  limit ?
  for update skip locked
))`;

async function purgeInBatches(db: Knex, sql: string, { retentionMs, batchSize = 5_000, signal }: PurgeOptions): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rowCount } = (await db.raw(sql, [retentionMs / 1000, batchSize])) as { rowCount: number | null };
    deleted += rowCount ?? 0;
    // A full batch means more may be past retention: go on now rather than at the next round, so the
    // purge keeps up with any write rate (a fixed amount per round falls behind a faster writer).
    if ((rowCount ?? 0) < batchSize || signal?.aborted) return deleted;
  }
}

/** Deletes outbox rows published longer than `retentionMs` ago, all of them; returns how many. */
export function purgePublishedOutbox(db: Knex, options: PurgeOptions): Promise<number> {
  return purgeInBatches(db, PURGE_OUTBOX_SQL, options);
}

/**
 * Deletes the idempotent consumers' message ids recorded longer than `retentionMs` ago; returns how
 * many. Only safe when no copy of such a message can still arrive: the retention must exceed the
 * topics' log retention (a group that lost its offsets replays what the broker still holds) and
 * how long a crashed writer may take to re-send a row it published but did not mark.
 */
export function purgeProcessedMessages(db: Knex, options: PurgeOptions): Promise<number> {
  return purgeInBatches(db, PURGE_PROCESSED_SQL, options);
}

/** True when the server's autovacuum is off, so tables churned by deletes must be vacuumed by us. */
export async function autovacuumIsOff(db: Knex): Promise<boolean> {
  const { rows } = (await db.raw(`select current_setting('autovacuum') as autovacuum`)) as { rows: { autovacuum: string }[] };
  return rows[0]?.autovacuum === 'off';
}

/**
 * The idempotent consumers' retention: every `intervalMs`, deletes message ids past `retentionMs`
 * and, where the server's autovacuum is off, vacuums the table so the space is used again (else the
 * table keeps growing though its row count does not). Safe in any number of instances.
 */
export function createProcessedMessagesPurge({
  db,
  logger,
  retentionMs,
  intervalMs,
  batchSize,
}: {
  db: Knex;
  logger: Logger;
  retentionMs: number;
  intervalMs: number;
  batchSize?: number;
}): PeriodicJob {
  const log = logger.child({ component: 'processed-messages-purge' });
  return createPeriodicJob({
    name: 'processed-messages-purge',
    intervalMs,
    logger,
    run: async (signal) => {
      const deleted = await purgeProcessedMessages(db, { retentionMs, batchSize, signal });
      if (deleted === 0) return;
      log.debug({ deleted }, 'purged processed message ids past retention');
      if (!signal.aborted && (await autovacuumIsOff(db))) await db.raw(`vacuum (analyze) ${PROCESSED_TABLE}`);
    },
  });
}
