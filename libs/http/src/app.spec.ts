import { createLogger, createMetricsRegistry } from '@ticketing/telemetry';
import request from 'supertest';
import { z } from 'zod';
import { createHttpApp, parseOrThrow, ProblemError, reportOnly } from './index';

function build(ready = true) {
  return createHttpApp(
    {
      logger: createLogger('test', 'silent'),
      metrics: createMetricsRegistry('test'),
      readiness: { postgres: async () => (ready ? undefined : Promise.reject(new Error('connection refused'))) },
    },
    (app) => {
      app.post('/things', (req, res) => {
        const body = parseOrThrow(z.object({ name: z.string().min(1), count: z.number().int().positive() }).strict(), req.body);
        res.status(201).json(body);
      });
      app.get('/conflict', () => {
        throw new ProblemError('CONFLICT', 'already there', { position: 3 });
      });
      app.get('/boom', () => {
        throw new Error('secret internal detail');
      });
    },
  );
}

describe('HTTP app shape: health, metrics, problem+json', () => {
  it('answers liveness and readiness, and 503 with the failing dependency', async () => {
    await request(build().app).get('/health/live').expect(200, { status: 'ok' });
    await request(build().app).get('/health/ready').expect(200);
    const down = await request(build(false).app).get('/health/ready').expect(503);
    expect(down.body.checks.postgres).toEqual({ status: 'down', error: 'connection refused' });
    const draining = build();
    draining.markShuttingDown();
    await request(draining.app).get('/health/ready').expect(503);
  });

  it('stays ready while a report-only dependency is down, and shows it in /health/details', async () => {
    const { app } = createHttpApp(
      {
        logger: createLogger('test', 'silent'),
        metrics: createMetricsRegistry('test'),
        readiness: { postgres: async () => undefined, kafka: reportOnly(async () => Promise.reject(new Error('broker unreachable'))) },
      },
      () => undefined,
    );
    const ready = await request(app).get('/health/ready').expect(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { postgres: { status: 'up' } } });
    const details = await request(app).get('/health/details').expect(200);
    expect(details.body).toEqual({
      status: 'ready',
      checks: { postgres: { status: 'up', gatesReadiness: true }, kafka: { status: 'down', error: 'broker unreachable', gatesReadiness: false } },
    });
  });

  it('serves Prometheus metrics', async () => {
    const res = await request(build().app).get('/metrics').expect(200);
    expect(res.text).toMatch(/process_cpu_seconds_total/);
  });

  it.each([
    ['malformed JSON', (r: request.Test) => r.set('content-type', 'application/json').send('{"name":'), 400, 'MALFORMED_JSON'],
    ['a failing schema', (r: request.Test) => r.send({ name: '', count: '3' }), 400, 'VALIDATION_FAILED'],
    ['an unknown field', (r: request.Test) => r.send({ name: 'a', count: 1, userId: 'x' }), 400, 'VALIDATION_FAILED'],
    ['a body too large', (r: request.Test) => r.send({ name: 'x'.repeat(20_000), count: 1 }), 413, 'PAYLOAD_TOO_LARGE'],
  ])('answers %s with problem+json', async (_label, send, status, code) => {
    const res = await send(request(build().app).post('/things')).expect(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, code, title: expect.any(String), detail: expect.any(String), type: expect.stringContaining('/problems/') });
  });

  it('lists each invalid field', async () => {
    const res = await request(build().app).post('/things').send({ name: '', count: 0 }).expect(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['body.name', 'body.count']);
  });

  it('keeps a domain error status and extensions, 404s unknown routes, hides internals behind 500', async () => {
    const conflict = await request(build().app).get('/conflict').expect(409);
    expect(conflict.body).toMatchObject({ code: 'CONFLICT', position: 3 });
    const missing = await request(build().app).get('/nope').expect(404);
    expect(missing.body.code).toBe('ROUTE_NOT_FOUND');
    const boom = await request(build().app).get('/boom').expect(500);
    expect(boom.body).toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(JSON.stringify(boom.body)).not.toMatch(/secret internal detail|at .*\.ts/);
  });
});

describe('request logs', () => {
  it('never contain credentials', async () => {
    const lines: string[] = [];
    const logger = createLogger('test', 'debug', { write: (line: string) => void lines.push(line) });
    const { app } = createHttpApp({ logger, metrics: createMetricsRegistry('test'), readiness: {} }, (a) => {
      a.get('/whoami', (_req, res) => res.status(401).json({}));
    });
    await request(app)
      .get('/whoami')
      .set('authorization', 'Bearer secret-session')
      .set('x-queue-token', 'secret-queue')
      .set('x-admin-key', 'secret-admin')
      .set('x-internal-auth', 'secret-internal')
      .set('cookie', 'sid=secret-cookie')
      .expect(401);
    const logged = lines.join('\n');
    expect(logged).toContain('/whoami');
    expect(logged).toContain('"statusCode":401');
    expect(logged).not.toMatch(/secret-(session|queue|admin|internal|cookie)/);
    // Request lines carry no headers at all; a line that logs headers itself still gets them redacted.
    logger.info({ req: { headers: { authorization: 'Bearer secret-session' } } }, 'explicit');
    expect(lines[lines.length - 1]).toContain('[redacted]');
    expect(lines[lines.length - 1]).not.toContain('secret-session');
  });
});
