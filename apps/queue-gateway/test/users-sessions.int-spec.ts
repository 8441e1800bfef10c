import { migrateLatest } from '@ticketing/db';
import { createHttpApp, ProblemError } from '@ticketing/http';
import { createLogger, createMetricsRegistry } from '@ticketing/telemetry';
import { createTestDatabase, testServers, uniqueName, type TestDatabase } from '@ticketing/testing';
import type { Express } from 'express';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import request from 'supertest';
import { loadGatewayConfig } from '../src/config';
import { createRateLimits } from '../src/rate-limits/rate-limits';
import { createSessionTokens, type SessionTokens } from '../src/sessions/session-token';
import { createSessionsRouter } from '../src/sessions/sessions.routes';
import { createPasswordHasher } from '../src/users/password-hasher';
import { createUserRepository, USERS_TABLE } from '../src/users/user.repository';
import { createUsersRouter } from '../src/users/users.routes';
import { createRoomRedis } from '../src/waiting-room/room-redis';

const SECRET = 'integration-test-session-secret-0123456789';
const TTL_SECONDS = 2 * 3600;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const newEmail = (label = 'fan') => `${uniqueName(label)}@example.com`;
const withoutTraceId = ({ traceId: _traceId, ...rest }: Record<string, unknown>) => rest;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('sign-up and log-in (real PostgreSQL, production hash parameters)', () => {
  let database: TestDatabase;
  let app: Express;
  let sessionTokens: SessionTokens;
  const redis = createRoomRedis(testServers().REDIS_URL);
  const limitPrefix = uniqueName('users_rl');

  beforeAll(async () => {
    await redis.connect();
    // The limits are tried in rate-limits.int-spec.ts; here they only must not get in the way.
    const rateLimits = createRateLimits({ redis, keyPrefix: limitPrefix, settings: { ...loadGatewayConfig({}), RATE_LIMIT_SIGNUPS: 1_000 }, metrics: createMetricsRegistry('test-limits') });
    database = await createTestDatabase('gateway_users');
    await migrateLatest(database.db, path.resolve(__dirname, '../migrations'));
    const users = createUserRepository(database.db);
    const hasher = createPasswordHasher();
    sessionTokens = createSessionTokens({ secret: SECRET, ttlSeconds: TTL_SECONDS, issuer: 'queue-gateway' });
    app = createHttpApp({ logger: createLogger('test', 'silent'), metrics: createMetricsRegistry('test'), readiness: {} }, (a) => {
      a.use(createUsersRouter({ users, hasher, limit: rateLimits.signUp }));
      a.use(createSessionsRouter({ users, hasher, sessionTokens, guard: rateLimits.logIn }));
    }).app;
  });
  afterAll(async () => {
    const keys = await redis.keys(`${limitPrefix}:*`);
    await Promise.all(keys.map((key) => redis.del(key)));
    redis.disconnect();
    await database?.drop();
  });

  const usersWithEmail = (email: string) => database.db(USERS_TABLE).whereRaw('lower(email) = lower(?)', [email]).select('*');
  const userCount = async () => Number((await database.db(USERS_TABLE).count({ n: '*' }).first())!.n);
  const signUp = (body: unknown) => request(app).post('/api/v1/users').send(body as object);
  const logIn = (body: unknown) => request(app).post('/api/v1/sessions').send(body as object);

  describe('POST /api/v1/users', () => {
    it('creates the account → 201 {userId}, storing a normalised email and an argon2id hash, never the password', async () => {
      const email = newEmail();
      const res = await signUp({ email: `  ${email.toUpperCase()} `, name: ' Kim Minji ', password: 'correct horse 1' }).expect(201);
      expect(res.body).toEqual({ userId: expect.stringMatching(UUID) });

      const [row] = await usersWithEmail(email);
      expect(row).toMatchObject({ id: res.body.userId, email, name: 'Kim Minji' });
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(row.password_hash).not.toContain('correct horse');
      expect(row.created_at).toBeInstanceOf(Date);
    });

    it('answers the same email in another letter case with 409 EMAIL_TAKEN and changes nothing', async () => {
      const email = newEmail();
      await signUp({ email, name: 'First', password: 'first-password' }).expect(201);
      const [before] = await usersWithEmail(email);

      const res = await signUp({ email: email.replace('fan', 'FAN').replace('example', 'Example'), name: 'Second', password: 'second-password' }).expect(409);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 409, code: 'EMAIL_TAKEN', title: 'Conflict', detail: expect.any(String) });
      expect(await usersWithEmail(email)).toEqual([before]);
      // The first owner's password still works; the second one's never did.
      await logIn({ email, password: 'first-password' }).expect(200);
      await logIn({ email, password: 'second-password' }).expect(401);
    });

    it('lets exactly one of 20 concurrent sign-ups with the same email win', async () => {
      const email = newEmail('race');
      const variants = Array.from({ length: 20 }, (_, i) => (i % 2 ? email.toUpperCase() : email));
      const responses = await Promise.all(variants.map((e, i) => signUp({ email: e, name: `Racer ${i}`, password: `password-${i}` })));

      const statuses = responses.map((r) => r.status).sort();
      expect(statuses).toEqual([201, ...Array(19).fill(409)]);
      expect(responses.filter((r) => r.status === 409).every((r) => r.body.code === 'EMAIL_TAKEN')).toBe(true);
      const rows = await usersWithEmail(email);
      expect(rows).toHaveLength(1);
      expect(rows[0].id).toBe(responses.find((r) => r.status === 201)!.body.userId);
    });

    const valid = () => ({ email: newEmail('bad'), name: 'Valid Name', password: 'long-enough' });
    it.each<[string, (t: request.Test) => request.Test, string]>([
      ['a missing password', (t) => t.send({ ...valid(), password: undefined }), 'VALIDATION_FAILED'],
      ['a missing email', (t) => t.send({ name: 'No Email', password: 'long-enough' }), 'VALIDATION_FAILED'],
      ['a password of 7 characters', (t) => t.send({ ...valid(), password: '1234567' }), 'VALIDATION_FAILED'],
      ['a password of 129 characters', (t) => t.send({ ...valid(), password: 'x'.repeat(129) }), 'VALIDATION_FAILED'],
      ['a password that is a number', (t) => t.send({ ...valid(), password: 12345678 }), 'VALIDATION_FAILED'],
      ['a bad email', (t) => t.send({ ...valid(), email: 'not-an-email' }), 'VALIDATION_FAILED'],
      ['an email over 254 characters', (t) => t.send({ ...valid(), email: `${'a'.repeat(250)}@example.com` }), 'VALIDATION_FAILED'],
      ['a blank name', (t) => t.send({ ...valid(), name: '   ' }), 'VALIDATION_FAILED'],
      ['a name of 101 characters', (t) => t.send({ ...valid(), name: 'n'.repeat(101) }), 'VALIDATION_FAILED'],
      ['an unknown field (userId)', (t) => t.send({ ...valid(), userId: randomUUID() }), 'VALIDATION_FAILED'],
      ['a JSON string as the body', (t) => t.set('content-type', 'application/json').send('"hello"'), 'MALFORMED_JSON'],
      ['a text/plain body', (t) => t.set('content-type', 'text/plain').send('hello'), 'VALIDATION_FAILED'],
      ['an array as the body', (t) => t.send([valid()]), 'VALIDATION_FAILED'],
      ['malformed JSON', (t) => t.set('content-type', 'application/json').send('{"email": "a@b.c",'), 'MALFORMED_JSON'],
      ['no body at all', (t) => t, 'VALIDATION_FAILED'],
    ])('answers %s with 400 problem+json and creates nothing', async (_label, send, code) => {
      const before = await userCount();
      const res = await send(request(app).post('/api/v1/users')).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, code, title: 'Bad Request', detail: expect.any(String), type: expect.stringContaining('/problems/') });
      expect(await userCount()).toBe(before);
    });
  });

  describe('POST /api/v1/sessions', () => {
    const password = 'a long enough password';
    let email: string;
    let userId: string;
    beforeAll(async () => {
      email = newEmail('login');
      userId = (await signUp({ email, name: 'Logging In', password }).expect(201)).body.userId;
    });

    it('logs in → {sessionToken, userId, expiresAt}; the token verifies to the user and expires after the TTL', async () => {
      const before = Date.now();
      const res = await logIn({ email: email.toUpperCase(), password }).expect(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({ sessionToken: expect.any(String), userId, expiresAt: expect.any(String) });

      await expect(sessionTokens.verify(res.body.sessionToken)).resolves.toEqual({ userId });
      const expiresAt = Date.parse(res.body.expiresAt);
      // exp has whole-second precision, hence the 1 s of slack below `before`.
      expect(expiresAt).toBeGreaterThanOrEqual(before - 1000 + TTL_SECONDS * 1000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + TTL_SECONDS * 1000);
    });

    it('answers a wrong password and an unknown email with the same 401 INVALID_CREDENTIALS', async () => {
      const wrongPassword = await logIn({ email, password: 'not the password' }).expect(401);
      const unknownEmail = await logIn({ email: newEmail('nobody'), password }).expect(401);

      expect(wrongPassword.body).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });
      expect(withoutTraceId(unknownEmail.body)).toEqual(withoutTraceId(wrongPassword.body));
      expect(unknownEmail.headers['content-type']).toBe(wrongPassword.headers['content-type']);
    });

    it.each<[string, unknown]>([
      ['a missing password', { email: 'fan@example.com' }],
      ['a bad email', { email: 'fan', password: 'whatever-it-is' }],
      ['a password of 129 characters', { email: 'fan@example.com', password: 'x'.repeat(129) }],
      ['an unknown field', { email: 'fan@example.com', password: 'whatever-it-is', userId: randomUUID() }],
      ['an array', [{ email: 'fan@example.com', password: 'whatever-it-is' }]],
    ])('answers %s with 400 VALIDATION_FAILED', async (_label, body) => {
      const res = await logIn(body).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    });

    describe('the session token it issues', () => {
      let token: string;
      beforeAll(async () => {
        token = (await logIn({ email, password }).expect(200)).body.sessionToken;
      });

      it('is refused with SESSION_TOKEN_INVALID once tampered with (another user id in the payload)', async () => {
        const [header, payload, signature] = token.split('.');
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
        const forged = Buffer.from(JSON.stringify({ ...claims, sub: randomUUID() })).toString('base64url');
        const error = await rejection(sessionTokens.verify([header, forged, signature].join('.')));
        expect(error).toBeInstanceOf(ProblemError);
        expect(error).toMatchObject({ code: 'SESSION_TOKEN_INVALID', status: 401 });
      });

      it('is refused with SESSION_TOKEN_INVALID by a gateway with another secret, and vice versa', async () => {
        const elsewhere = createSessionTokens({ secret: 'some-other-gateway-secret-0123456789', ttlSeconds: TTL_SECONDS, issuer: 'queue-gateway' });
        await expect(rejection(elsewhere.verify(token))).resolves.toMatchObject({ code: 'SESSION_TOKEN_INVALID' });
        const foreign = await elsewhere.issue(userId);
        await expect(rejection(sessionTokens.verify(foreign.token))).resolves.toMatchObject({ code: 'SESSION_TOKEN_INVALID' });
      });

      it('is refused with SESSION_EXPIRED after its TTL', async () => {
        const lateBy = (TTL_SECONDS + 1) * 1000;
        const minted = createSessionTokens({ secret: SECRET, ttlSeconds: TTL_SECONDS, issuer: 'queue-gateway', now: () => Date.now() - lateBy });
        const expired = await minted.issue(userId);
        const error = await rejection(sessionTokens.verify(expired.token));
        expect(error).toBeInstanceOf(ProblemError);
        expect(error).toMatchObject({ code: 'SESSION_EXPIRED', status: 401 });
      });
    });
  });
});
