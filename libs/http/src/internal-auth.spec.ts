import { createLogger, createMetricsRegistry } from '@ticketing/telemetry';
import request from 'supertest';
import { createHttpApp, createInternalAuth, INTERNAL_AUTH_HEADER } from './index';

const secret = 'a-test-secret-that-is-long-enough-123456';

function service() {
  const internalAuth = createInternalAuth(secret);
  const { app } = createHttpApp(
    { logger: createLogger('test', 'silent'), metrics: createMetricsRegistry('test'), readiness: {}, internalAuth },
    (a) => a.get('/whoami', (req, res) => res.json(req.caller)),
  );
  return app;
}

describe('internal credentials (only the gateway may call a service)', () => {
  it('refuses a direct call without credentials, and a forged or foreign one', async () => {
    const missing = await request(service()).get('/whoami').expect(401);
    expect(missing.body.code).toBe('INTERNAL_AUTH_REQUIRED');
    await request(service()).get('/whoami').set(INTERNAL_AUTH_HEADER, 'not-a-jwt').expect(401);
    const foreign = await createInternalAuth('another-secret-that-is-long-enough-0000').sign({ userId: 'u1', access: 'user' });
    await request(service()).get('/whoami').set(INTERNAL_AUTH_HEADER, foreign).expect(401);
  });

  it('accepts the gateway-signed identity and exposes it as req.caller', async () => {
    const token = await createInternalAuth(secret).sign({ userId: '7b0c3f0e-7c55-4d27-9d7c-63a9d1e0f6a1', access: 'active' });
    const res = await request(service()).get('/whoami').set(INTERNAL_AUTH_HEADER, token).expect(200);
    expect(res.body).toEqual({ userId: '7b0c3f0e-7c55-4d27-9d7c-63a9d1e0f6a1', access: 'active' });
  });

  it('keeps health and metrics open for probes and scrapers', async () => {
    await request(service()).get('/health/ready').expect(200);
    await request(service()).get('/metrics').expect(200);
  });
});
