import * as fs from 'node:fs';
import * as path from 'node:path';
import knex from 'knex';
import { Client } from 'pg';
import { SERVICES, withDatabase, type ServiceName } from '@ticketing/config';
import { REPO_ROOT } from './paths';
import { defaultLog, redactUrl, type Log } from './process';

export interface ProvisionedDatabase {
  service: ServiceName;
  database: string;
  created: boolean;
  /** Migration files applied by this call (empty when up to date or when there are none). */
  migrations: string[];
}

export interface ProvisionDatabasesOptions {
  /** The PostgreSQL server (any database on it); default POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres. */
  postgresUrl?: string;
  log?: Log;
}

const MIGRATION_FILE = /\.(ts|js|cjs)$/;

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The service's migrations folder, or undefined when it is missing or holds no migration yet. */
function migrationsDir(service: ServiceName): string | undefined {
  const dir = path.join(REPO_ROOT, 'apps', service, 'migrations');
  try {
    return fs.readdirSync(dir).some((f) => MIGRATION_FILE.test(f) && !f.endsWith('.d.ts')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates each service's database when missing and applies its knex migrations
 * (apps/<service>/migrations/*.ts; loading .ts needs the process to run under tsx).
 */
export async function provisionDatabases(options: ProvisionDatabasesOptions = {}): Promise<ProvisionedDatabase[]> {
  const serverUrl = options.postgresUrl ?? process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const log = options.log ?? defaultLog;
  const results: ProvisionedDatabase[] = [];

  const admin = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    for (const service of Object.keys(SERVICES) as ServiceName[]) {
      const database = SERVICES[service].database;
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      let created = false;
      if (exists.rowCount === 0) {
        try {
          await admin.query(`CREATE DATABASE ${quoteIdent(database)}`);
          created = true;
        } catch (err) {
          // 42P04 duplicate_database; 23505 when two CREATE DATABASE race on the catalog's unique index.
          const code = (err as { code?: string }).code;
          if (code !== '42P04' && code !== '23505') throw err;
        }
      }
      results.push({ service, database, created, migrations: [] });
    }
  } finally {
    await admin.end().catch(() => undefined);
  }

  for (const result of results) {
    const directory = migrationsDir(result.service);
    if (directory) {
      const db = knex({ client: 'pg', connection: withDatabase(serverUrl, result.database), pool: { min: 0, max: 2 } });
      try {
        const [, applied] = (await db.migrate.latest({ directory, loadExtensions: ['.ts', '.js', '.cjs'] })) as [number, string[]];
        result.migrations = applied;
      } catch (err) {
        throw new Error(`migrations of ${result.service} (database ${result.database}) failed: ${(err as Error).message}`);
      } finally {
        await db.destroy();
      }
    }
    const what = [
      result.created ? 'created' : 'exists',
      directory ? (result.migrations.length > 0 ? `applied ${result.migrations.length} migration(s): ${result.migrations.join(', ')}` : 'migrations up to date') : 'no migrations yet',
    ];
    log(`database ${result.database} (${result.service}) on ${redactUrl(withDatabase(serverUrl, result.database))}: ${what.join(', ')}`);
  }
  return results;
}
