import { Router } from 'express';

/**
 * Resolves when a dependency answers. A check made with `reportOnly` is shown by `/health/details`
 * but never makes `/health/ready` fail.
 */
export type ReadinessCheck = (() => Promise<unknown>) & { readonly reportOnly?: true };

/**
 * A dependency the service keeps answering without (the broker: the outbox keeps events until it is
 * back), so a load balancer must not take the service out of rotation for it.
 */
export function reportOnly(check: () => Promise<unknown>): ReadinessCheck {
  return Object.assign(() => check(), { reportOnly: true as const });
}

const withTimeout = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);

/**
 * `/health/live`: the process answers. `/health/ready`: every dependency the service needs to answer
 * requests answers (its database; Redis for the gateway), 503 with the failing ones otherwise.
 * `/health/details`: every check, report-only ones (the broker) included, always 200 with each one's
 * state. All are cheap enough for a 1 s probe.
 */
export function createHealth(checks: Record<string, ReadinessCheck>, { timeoutMs = 2_000 } = {}): { router: Router; markShuttingDown(): void } {
  const router = Router();
  let shuttingDown = false;
  const run = (entries: [string, ReadinessCheck][]) =>
    Promise.all(
      entries.map(async ([name, check]) => {
        try {
          await withTimeout(check(), timeoutMs);
          return [name, { status: 'up' }] as const;
        } catch (error) {
          return [name, { status: 'down', error: (error as Error).message }] as const;
        }
      }),
    );
  const gating = Object.entries(checks).filter(([, check]) => !check.reportOnly);
  const state = (ready: boolean) => (ready ? 'ready' : shuttingDown ? 'shutting-down' : 'not-ready');

  router.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (_req, res) => {
    const results = await run(gating);
    const ready = !shuttingDown && results.every(([, r]) => r.status === 'up');
    res.status(ready ? 200 : 503).json({ status: state(ready), checks: Object.fromEntries(results) });
  });
  router.get('/health/details', async (_req, res) => {
    const results = await run(Object.entries(checks));
    const ready = !shuttingDown && results.every(([name, r]) => r.status === 'up' || checks[name].reportOnly);
    res.json({
      status: state(ready),
      checks: Object.fromEntries(results.map(([name, r]) => [name, { ...r, gatesReadiness: !checks[name].reportOnly }])),
    });
  });
  return {
    router,
    markShuttingDown: () => {
      shuttingDown = true;
    },
  };
}
