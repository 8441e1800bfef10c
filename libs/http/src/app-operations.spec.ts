import { createLogger, createMetricsRegistry } from '@ticketing/telemetry';
import request from 'supertest';
import { createHttpApp } from './index';

function build(separateOperations: boolean) {
  return createHttpApp(
    { logger: createLogger('test', 'silent'), metrics: createMetricsRegistry('test'), readiness: { db: async () => undefined }, separateOperations },
    (app) => app.get('/hello', (_req, res) => res.json({ hello: 'world' })),
  );
}

describe('operations endpoints on an app of their own (the gateway)', () => {
  it('keeps only /health/live on the public app; readiness and metrics answer 404 there', async () => {
    const { app } = build(true);
    await request(app).get('/health/live').expect(200, { status: 'ok' });
    for (const path of ['/health/ready', '/metrics']) {
      const res = await request(app).get(path).expect(404);
      expect(res.body.code).toBe('ROUTE_NOT_FOUND');
    }
    await request(app).get('/hello').expect(200);
  });

  it('serves readiness, liveness and metrics on the ops app, and nothing else', async () => {
    const { ops, markShuttingDown } = build(true);
    await request(ops).get('/health/live').expect(200);
    await request(ops).get('/health/ready').expect(200);
    expect((await request(ops).get('/metrics').expect(200)).text).toMatch(/process_cpu_seconds_total/);
    await request(ops).get('/hello').expect(404);
    markShuttingDown();
    await request(ops).get('/health/ready').expect(503);
  });

  it('serves everything on the app itself by default (internal services)', async () => {
    const { app } = build(false);
    await request(app).get('/health/ready').expect(200);
    await request(app).get('/metrics').expect(200);
  });
});
