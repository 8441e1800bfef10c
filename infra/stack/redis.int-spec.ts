import { freePort, startPrivateRedis, waitFor } from '@ticketing/testing';
import Redis from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canPingRedis, ensureRedis } from './redis';

/**
 * The stack's Redis keeps the waiting room across a restart: one the stack starts (`npm start`,
 * `npm run stack`) runs with an append-only file, and a running local one that persists nothing is
 * switched to it. Both on Redis servers of this test's own (free ports, temporary folders).
 */

const silent = () => undefined;

async function withClient<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

describe("the stack's Redis is persistent", () => {
  it('a Redis the stack starts comes back from a crash (SIGKILL) with its data', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-redis-'));
    try {
      const first = await ensureRedis({ url, dir, persistent: true, log: silent });
      expect(first.startedByUs).toBe(true);
      const pid = await withClient(url, async (redis) => {
        await redis.set('{wr}:seq', '41');
        await redis.incr('{wr}:seq');
        return Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
      });
      process.kill(pid, 'SIGKILL');
      await waitFor(async () => !(await canPingRedis(url, 300)), { timeoutMs: 10_000, label: 'Redis gone' });

      const again = await ensureRedis({ url, dir, persistent: true, log: silent });
      try {
        expect(again.startedByUs).toBe(true);
        expect(await withClient(url, (redis) => redis.get('{wr}:seq'))).toBe('42');
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('turns on the append-only file of a running local Redis that keeps nothing', async () => {
    const running = await startPrivateRedis(); // --appendonly no, as this machine's Redis runs
    try {
      const ensured = await ensureRedis({ url: running.url, persistent: true, log: silent });
      expect(ensured.startedByUs).toBe(false);
      const settings = await withClient(running.url, async (redis) => [await redis.config('GET', 'appendonly'), await redis.config('GET', 'appendfsync')]);
      expect(settings).toEqual([
        ['appendonly', 'yes'],
        ['appendfsync', 'everysec'],
      ]);
    } finally {
      await running.stop();
    }
  });
});
