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
}

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

/**
 * Makes sure Redis answers at `url`. When it does not and the URL points to this machine,
 * starts a non-persistent redis-server on that port (daemonized) and waits for PING.
 */
export async function ensureRedis(options: EnsureRedisOptions = {}): Promise<EnsuredServer> {
  const url = options.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const log = options.log ?? defaultLog;
  const timeoutMs = options.timeoutMs ?? 20_000;

  if (await canPingRedis(url)) {
    log(`Redis answers at ${redactUrl(url)}`);
    return { startedByUs: false, stop: async () => undefined };
  }
  const parsed = new URL(url);
  if (!isLocalHost(parsed.hostname)) {
    throw new Error(`Redis does not answer at ${redactUrl(url)} (not this machine, so it is not started here)`);
  }
  const port = parsed.port || '6379';
  const fallback = path.join(STACK_DIR, 'redis');
  const dir = writableDir('/var/lib/redis', fallback);
  const logDir = writableDir('/var/log/redis', fallback);
  const logfile = path.join(logDir, port === '6379' ? 'ci.log' : `redis-${port}.log`);
  const args = ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', port, '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', logfile];
  log(`Redis is down: starting redis-server on 127.0.0.1:${port}`);
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
