import * as fs from 'node:fs';
import * as path from 'node:path';
import Redis from 'ioredis';
import { STACK_DIR } from './paths';
import { defaultLog, redactUrl, runCommand, type Log } from './process';
import type { EnsuredServer } from './postgres';
import { isLocalHost, waitFor } from './wait';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface EnsureRedisOptions {
  /** Default REDIS_URL or redis://127.0.0.1:6379. */
  url?: string;
  timeoutMs?: number;
  log?: Log;
  /**
   * Keep the data across a restart: an append-only file fsynced every second (at most about a
   * second of writes lost in a machine crash, none when only the process dies). A Redis this starts
   * runs so; a running one on this machine that persists nothing is switched to it (CONFIG SET),
   * since the waiting room (line, active slots, ticket sequence) must survive a Redis restart.
   */
  persistent?: boolean;
  /** Where a Redis this starts keeps its files and log (default /var/lib/redis when writable, else .stack/redis). */
  dir?: string;
}

/** The append-only settings of a Redis that keeps the waiting room across restarts. */
export const REDIS_PERSISTENCE_ARGS = ['--appendonly', 'yes', '--appendfsync', 'everysec'] as const;

function client(url: string, timeoutMs: number): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  return redis;
}

/** True when the Redis server at `url` answers PING. */
export async function canPingRedis(url: string, timeoutMs = 2000): Promise<boolean> {
  const redis = client(url, timeoutMs);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

function writableDir(preferred: string, fallback: string): string {
  try {
    fs.accessSync(preferred, fs.constants.W_OK);
    return preferred;
  } catch {
    fs.mkdirSync(fallback, { recursive: true });
    return fallback;
  }
}

/** Turns on the append-only file of a running Redis that has it off; says whether it changed anything. */
async function enablePersistence(url: string): Promise<boolean> {
  const redis = client(url, 2000);
  try {
    await redis.connect();
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
    const [, fsync] = (await redis.config('GET', 'appendfsync')) as string[];
    if (appendonly === 'yes' && fsync !== 'no') return false;
    // Setting appendonly rewrites the dataset into a new append-only file in the background.
    await redis.config('SET', 'appendfsync', 'everysec');
    if (appendonly !== 'yes') await redis.config('SET', 'appendonly', 'yes');
    return true;
  } finally {
    redis.disconnect();
  }
}

/**
 * Makes sure Redis answers at `url`. When it does not and the URL points to this machine, starts a
 * redis-server on that port (daemonized; `persistent`: with an append-only file) and waits for
 * PING. With `persistent`, a running local Redis that persists nothing gets its append-only file
 * turned on (a remote one is only reported).
 */
export async function ensureRedis(options: EnsureRedisOptions = {}): Promise<EnsuredServer> {
  const url = options.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const log = options.log ?? defaultLog;
  const timeoutMs = options.timeoutMs ?? 20_000;

  const parsed = new URL(url);
  if (await canPingRedis(url)) {
    log(`Redis answers at ${redactUrl(url)}`);
    if (options.persistent) {
      if (!isLocalHost(parsed.hostname)) log(`Redis at ${redactUrl(url)} is not on this machine: make sure it persists (appendonly yes)`);
      else if (await enablePersistence(url).catch(() => false)) log(`Redis at ${redactUrl(url)} kept nothing on disk: turned on its append-only file (appendfsync everysec)`);
    }
    return { startedByUs: false, stop: async () => undefined };
  }
  if (!isLocalHost(parsed.hostname)) {
    throw new Error(`Redis does not answer at ${redactUrl(url)} (not this machine, so it is not started here)`);
  }
  const port = parsed.port || '6379';
  const fallback = path.join(STACK_DIR, 'redis');
  const dir = options.dir ?? writableDir('/var/lib/redis', fallback);
  const logDir = options.dir ?? writableDir('/var/log/redis', fallback);
  const logfile = path.join(logDir, port === '6379' ? 'ci.log' : `redis-${port}.log`);
  // The append-only files of each port in a folder of their own (a Redis on another port never reads them).
  const persistence = options.persistent ? [...REDIS_PERSISTENCE_ARGS, '--appenddirname', port === '6379' ? 'appendonlydir' : `appendonlydir-${port}`] : ['--appendonly', 'no'];
  const args = ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', port, '--save', '', ...persistence, '--dir', dir, '--logfile', logfile];
  log(`Redis is down: starting redis-server on 127.0.0.1:${port}${options.persistent ? ' (append-only file, fsync every second)' : ''}`);
  let result: { code: number; output: string };
  try {
    result = await runCommand('redis-server', args);
  } catch (err) {
    throw new Error(`Redis does not answer at ${redactUrl(url)} and redis-server could not run (${(err as Error).message}); start Redis yourself or set REDIS_URL`);
  }
  if (result.code !== 0) throw new Error(`redis-server failed (exit ${result.code}):\n${result.output}`);
  await waitFor(() => canPingRedis(url), { timeoutMs, label: `Redis at ${redactUrl(url)}`, intervalMs: 200 });
  log(`Redis started on 127.0.0.1:${port}`);

  let stopped = false;
  return {
    startedByUs: true,
    async stop() {
      if (stopped) return;
      stopped = true;
      const redis = client(url, 2000);
      try {
        await redis.connect();
        await redis.call('SHUTDOWN', 'NOSAVE').catch(() => undefined); // the connection drops on success
      } catch {
        /* already gone */
      } finally {
        redis.disconnect();
      }
      await waitFor(async () => !(await canPingRedis(url, 500)), { timeoutMs: 10_000, label: 'Redis to stop' }).catch(() => undefined);
      log(`Redis on 127.0.0.1:${port} stopped`);
    },
  };
}
