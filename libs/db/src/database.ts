import knex, { type Knex } from 'knex';
import pg from 'pg';

// int8 (bigint) columns and SUM()s come back as strings by default. Money and counters here stay
// far below 2^53, so parse them as numbers, but refuse silently losing precision.
pg.types.setTypeParser(20, (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
});

export type Database = Knex;
export type Transaction = Knex.Transaction;

export interface DatabaseOptions {
  url: string;
  poolMax?: number;
  applicationName?: string;
}

/** A knex instance on PostgreSQL with a bounded pool; one per process and database. */
export function createDatabase({ url, poolMax = 10, applicationName }: DatabaseOptions): Database {
  return knex({
    client: 'pg',
    connection: { connectionString: url, application_name: applicationName },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
  });
}

/** Runs the knex migrations in `directory` (TypeScript files: the process runs under tsx). */
export async function migrateLatest(db: Database, directory: string): Promise<string[]> {
  const [, applied] = await db.migrate.latest({ directory, loadExtensions: ['.ts'] });
  return applied as string[];
}

export async function pingDatabase(db: Database): Promise<void> {
  await db.raw('select 1');
}

const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

/**
 * True when the error says the database could not do the work right now (connection lost, server
 * restarting, deadlock), as opposed to the work itself being wrong. Such work is retried, not dead-lettered.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof e.code === 'string') {
    if (TRANSIENT_SQLSTATES.has(e.code) || e.code.startsWith('08')) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'].includes(e.code)) return true;
  }
  if (e.name === 'KnexTimeoutError') return true;
  return typeof e.message === 'string' && /Connection terminated|connection is closed|Client has encountered a connection error/i.test(e.message);
}
