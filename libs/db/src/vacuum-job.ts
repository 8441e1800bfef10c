import type { Logger } from '@ticketing/telemetry';
import type { Database } from './database';
import { createPeriodicJob, type PeriodicJob } from './periodic-job';

export interface VacuumRound {
  /** Whether the server's autovacuum is off; when it is on, a round does nothing. */
  autovacuumOff: boolean;
  vacuumed: string[];
  analyzed: string[];
}

// The tables autovacuum itself would pick, by its own server-wide thresholds: dead row versions
// (updates, deletes), rows inserted since the last vacuum (append-only tables need it for their
// visibility map), rows changed since the last analyze (planner statistics).
const DUE_SQL = `
with t as (
  select current_setting('autovacuum_vacuum_threshold')::float8 as vt,
         current_setting('autovacuum_vacuum_scale_factor')::float8 as vs,
         current_setting('autovacuum_vacuum_insert_threshold')::float8 as it,
         current_setting('autovacuum_vacuum_insert_scale_factor')::float8 as "is",
         current_setting('autovacuum_analyze_threshold')::float8 as at,
         current_setting('autovacuum_analyze_scale_factor')::float8 as "as"
)
select format('%I.%I', schemaname, relname) as name,
       (n_dead_tup > vt + vs * n_live_tup or (it >= 0 and n_ins_since_vacuum > it + "is" * n_live_tup)) as vacuum,
       n_mod_since_analyze > at + "as" * n_live_tup as analyze
from pg_stat_user_tables, t
where schemaname not like 'pg\\_temp%'
  and (n_dead_tup > vt + vs * n_live_tup
       or (it >= 0 and n_ins_since_vacuum > it + "is" * n_live_tup)
       or n_mod_since_analyze > at + "as" * n_live_tup)
order by n_dead_tup desc`;

/**
 * Does autovacuum's job for one database where the server has it off (as on the CI machines):
 * vacuums and analyzes the tables that autovacuum would, by its own thresholds. Where autovacuum
 * is on, does nothing. A table that cannot be vacuumed now (dropped, locked) is left for the next round.
 */
export async function vacuumWhereAutovacuumWould(db: Database, logger?: Logger): Promise<VacuumRound> {
  const { rows: setting } = (await db.raw(`select current_setting('autovacuum') as autovacuum`)) as { rows: { autovacuum: string }[] };
  const round: VacuumRound = { autovacuumOff: setting[0]?.autovacuum === 'off', vacuumed: [], analyzed: [] };
  if (!round.autovacuumOff) return round;
  const { rows } = (await db.raw(DUE_SQL)) as { rows: { name: string; vacuum: boolean; analyze: boolean }[] };
  for (const table of rows) {
    try {
      // VACUUM cannot run in a transaction; each statement here is one of its own.
      await db.raw(table.vacuum ? `vacuum (analyze) ${table.name}` : `analyze ${table.name}`);
      (table.vacuum ? round.vacuumed : round.analyzed).push(table.name);
    } catch (error) {
      logger?.warn({ err: error, table: table.name }, 'vacuum of a table failed; trying again on the next round');
    }
  }
  return round;
}

/**
 * Every `intervalMs` (0 = never), vacuums and analyzes what autovacuum would where the server has it off, so
 * tables churned by updates and deletes (seats, holds, payments, balances, purged queues) keep their
 * size and their planner statistics. Safe in several instances: vacuums of one table wait for each other.
 */
export function createVacuumJob({ db, logger, intervalMs }: { db: Database; logger: Logger; intervalMs: number }): PeriodicJob {
  if (intervalMs <= 0) return { start: () => undefined, stop: async () => undefined }; // 0 = never
  const log = logger.child({ component: 'vacuum' });
  return createPeriodicJob({
    name: 'vacuum',
    intervalMs,
    logger,
    run: async () => {
      const round = await vacuumWhereAutovacuumWould(db, log);
      if (round.vacuumed.length || round.analyzed.length) log.debug(round, 'vacuumed where autovacuum would');
    },
  });
}
