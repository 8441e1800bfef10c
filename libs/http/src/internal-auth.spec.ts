import { createLogger, createMetricsRegistry } from '@ticketing/telemetry';
import { SignJWT } from 'jose';
import request from 'supertest';
import { createHttpApp, createInternalAuth, INTERNAL_AUTH_HEADER, MAX_INTERNAL_CREDENTIAL_TTL_SECONDS } from './index';

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

  describe('lifetime', () => {
    const now = () => Math.floor(Date.now() / 1000);
    /** A token the right secret signed, with the claims the test chooses (what a leaked or hand-made one could be). */
    const handMade = (claims: { iat?: number; exp?: number }) => {
      const jwt = new SignJWT({ acc: 'user' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('queue-gateway').setAudience('ticketing-internal').setSubject('u1');
      if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
      if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
      return jwt.sign(new TextEncoder().encode(secret));
    };
    const answer = async (token: string) => {
      const res = await request(service()).get('/whoami').set(INTERNAL_AUTH_HEADER, token);
      return { status: res.status, code: res.body.code as string | undefined };
    };
    const refused = { status: 401, code: 'INTERNAL_AUTH_REQUIRED' };

    it('refuses a correctly signed credential without exp', async () => {
      expect(await answer(await handMade({ iat: now() }))).toEqual(refused);
      expect(await answer(await handMade({}))).toEqual(refused);
    });

    it('refuses a credential without iat, one living longer than the maximum, an old one and one from the future', async () => {
      expect(await answer(await handMade({ exp: now() + 60 }))).toEqual(refused);
      expect(await answer(await handMade({ iat: now(), exp: now() + MAX_INTERNAL_CREDENTIAL_TTL_SECONDS + 60 }))).toEqual(refused);
      expect(await answer(await handMade({ iat: now() - MAX_INTERNAL_CREDENTIAL_TTL_SECONDS - 60, exp: now() + 60 }))).toEqual(refused);
      expect(await answer(await handMade({ iat: now() + 3600, exp: now() + 3600 + 60 }))).toEqual(refused);
      expect(await answer(await handMade({ iat: now() - 120, exp: now() - 60 }))).toEqual(refused);
    });

    it('accepts a short-lived one (and a clock a few seconds apart)', async () => {
      expect((await answer(await handMade({ iat: now(), exp: now() + 60 }))).status).toBe(200);
      expect((await answer(await handMade({ iat: now() + 2, exp: now() + 62 }))).status).toBe(200);
    });

    it('draws each line where it says, on both sides: lifetime, clock skew, expiry', async () => {
      const max = MAX_INTERNAL_CREDENTIAL_TTL_SECONDS;
      // Lifetime: exactly the maximum passes, 10 s more does not.
      expect((await answer(await handMade({ iat: now(), exp: now() + max }))).status).toBe(200);
      expect(await answer(await handMade({ iat: now(), exp: now() + max + 10 }))).toEqual(refused);
      // Issued long ago but within the maximum: passes; beyond it: refused.
      expect((await answer(await handMade({ iat: now() - max + 20, exp: now() + 10 }))).status).toBe(200);
      // From the future: within the 5 s tolerance passes, 15 s ahead does not.
      expect((await answer(await handMade({ iat: now() + 3, exp: now() + 63 }))).status).toBe(200);
      expect(await answer(await handMade({ iat: now() + 15, exp: now() + 75 }))).toEqual(refused);
      // Expired: a moment inside its life passes, 15 s past its exp does not.
      expect((await answer(await handMade({ iat: now() - 59, exp: now() + 1 }))).status).toBe(200);
      expect(await answer(await handMade({ iat: now() - 75, exp: now() - 15 }))).toEqual(refused);
    });

    it('signs only short lifetimes', () => {
      expect(() => createInternalAuth(secret, { ttlSeconds: MAX_INTERNAL_CREDENTIAL_TTL_SECONDS + 1 })).toThrow(RangeError);
      expect(() => createInternalAuth(secret, { ttlSeconds: 0 })).toThrow(RangeError);
    });
  });

  it('keeps health and metrics open for probes and scrapers', async () => {
    await request(service()).get('/health/ready').expect(200);
    await request(service()).get('/metrics').expect(200);
  });
});
