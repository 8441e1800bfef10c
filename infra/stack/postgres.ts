import * as fs from 'node:fs';
import { Client } from 'pg';
import { defaultLog, redactUrl, runCommand, type Log } from './process';
import { isLocalHost, waitFor } from './wait';

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A server the stack made sure of; `stop()` only stops it when this call started it. */
export interface EnsuredServer {
  startedByUs: boolean;
  stop(): Promise<void>;
}

export interface EnsurePostgresOptions {
  /** Any database on the server; default POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres. */
  url?: string;
  timeoutMs?: number;
  log?: Log;
}

/** True when the server at `url` accepts a connection and answers a query. */
export async function canConnectPostgres(url: string, timeoutMs = 2000): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The cluster version to start: the highest numeric entry of /etc/postgresql (Debian layout). */
function localClusterVersion(): string {
  let entries: string[];
  try {
    entries = fs.readdirSync('/etc/postgresql').filter((e) => /^\d+(\.\d+)?$/.test(e));
  } catch {
    entries = [];
  }
  entries.sort((a, b) => Number(b) - Number(a));
  if (!entries[0]) throw new Error('no PostgreSQL cluster found under /etc/postgresql (Debian layout expected)');
  return entries[0];
}

/**
 * Makes sure PostgreSQL answers at `url`. When it does not and the URL points to this machine,
 * starts the Debian cluster `<version>/main` with pg_ctlcluster and waits until it answers.
 */
export async function ensurePostgres(options: EnsurePostgresOptions = {}): Promise<EnsuredServer> {
  const url = options.url ?? process.env.POSTGRES_URL ?? DEFAULT_POSTGRES_URL;
  const log = options.log ?? defaultLog;
  const timeoutMs = options.timeoutMs ?? 30_000;

  if (await canConnectPostgres(url)) {
    log(`PostgreSQL answers at ${redactUrl(url)}`);
    return { startedByUs: false, stop: async () => undefined };
  }
  const host = new URL(url).hostname;
  if (!isLocalHost(host)) {
    throw new Error(`PostgreSQL does not answer at ${redactUrl(url)} (not this machine, so it is not started here)`);
  }

  const version = localClusterVersion();
  const ctl = (action: 'start' | 'stop') => runCommand('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action]);
  log(`PostgreSQL is down: pg_ctlcluster --skip-systemctl-redirect ${version} main start`);
  let result: { code: number; output: string };
  try {
    result = await ctl('start');
  } catch (err) {
    throw new Error(`PostgreSQL does not answer at ${redactUrl(url)} and pg_ctlcluster could not run (${(err as Error).message}); start PostgreSQL yourself or set POSTGRES_URL`);
  }
  // Exit code 2 = already running (e.g. listening elsewhere): let the wait below decide.
  if (result.code !== 0 && result.code !== 2) {
    throw new Error(`pg_ctlcluster start failed (exit ${result.code}):\n${result.output}`);
  }
  await waitFor(() => canConnectPostgres(url), { timeoutMs, label: `PostgreSQL at ${redactUrl(url)}`, intervalMs: 300 });
  log(`PostgreSQL ${version} started`);

  let stopped = false;
  return {
    startedByUs: true,
    async stop() {
      if (stopped) return;
      stopped = true;
      const r = await ctl('stop').catch((err: Error) => ({ code: 1, output: err.message }));
      if (r.code === 0) log(`PostgreSQL ${version} stopped`);
      else log(`could not stop PostgreSQL ${version} (exit ${r.code}): ${r.output}`);
    },
  };
}
