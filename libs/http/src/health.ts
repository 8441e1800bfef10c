import { Router } from 'express';

export type ReadinessCheck = () => Promise<unknown>;

const withTimeout = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);

/**
 * `/health/live`: the process answers. `/health/ready`: every dependency answers (PostgreSQL,
 * Redis, Kafka...), 503 with the failing ones otherwise. Both are cheap enough for a 1 s probe.
 */
export function createHealth(checks: Record<string, ReadinessCheck>, { timeoutMs = 2_000 } = {}): { router: Router; markShuttingDown(): void } {
  const router = Router();
  let shuttingDown = false;
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), timeoutMs);
          return [name, { status: 'up' }] as const;
        } catch (error) {
          return [name, { status: 'down', error: (error as Error).message }] as const;
        }
      }),
    );
    const ready = !shuttingDown && results.every(([, r]) => r.status === 'up');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : shuttingDown ? 'shutting-down' : 'not-ready', checks: Object.fromEntries(results) });
  });
  return {
    router,
    markShuttingDown: () => {
      shuttingDown = true;
    },
  };
}
