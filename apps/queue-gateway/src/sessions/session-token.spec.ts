import { ProblemError } from '@ticketing/http';
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { createSessionTokens, SESSION_TOKEN_TYPE } from './session-token';

const SECRET = 'unit-test-session-secret-0123456789abcdef';
const options = { secret: SECRET, ttlSeconds: 3600, issuer: 'queue-gateway' };
const key = new TextEncoder().encode(SECRET);
const userId = randomUUID();

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProblemError);
  expect(error).toMatchObject({ code, status: 401 });
}

/** A token with every claim right except what `tweak` changes, signed with the real key. */
const forge = (tweak: (jwt: SignJWT) => SignJWT, header: { alg: string; typ?: string } = { alg: 'HS256', typ: SESSION_TOKEN_TYPE }) =>
  tweak(
    new SignJWT({})
      .setProtectedHeader(header)
      .setIssuer('queue-gateway')
      .setAudience('ticketing-api')
      .setSubject(userId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1h'),
  ).sign(key);

describe('session tokens (HS256 JWT)', () => {
  const tokens = createSessionTokens(options);

  it('issues a token that verifies to its user, with iss, aud, sub, jti, iat, exp and an explicit type', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { token, expiresAt } = await tokens.issue(userId);
    await expect(tokens.verify(token)).resolves.toEqual({ userId });

    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'session+jwt' });
    const claims = decodeJwt(token);
    expect(claims).toEqual({ iss: 'queue-gateway', aud: 'ticketing-api', sub: userId, jti: expect.any(String), iat: expect.any(Number), exp: expect.any(Number) });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(expiresAt.getTime()).toBe(claims.exp! * 1000);
    expect((await tokens.issue(userId)).token).not.toBe(token); // a fresh jti each time
  });

  it('honours a session for its whole TTL and says SESSION_EXPIRED once it has passed', async () => {
    const issuedAgo = (ms: number) => createSessionTokens({ ...options, now: () => Date.now() - ms });
    await expect(tokens.verify((await issuedAgo(3_595_000).issue(userId)).token)).resolves.toEqual({ userId });
    await rejectsWith(tokens.verify((await issuedAgo(3_601_000).issue(userId)).token), 'SESSION_EXPIRED');
  });

  it('calls an expired token with a bad signature invalid, not expired', async () => {
    const other = createSessionTokens({ ...options, secret: 'another-secret-of-at-least-32-bytes!!', now: () => Date.now() - 7200_000 });
    await rejectsWith(tokens.verify((await other.issue(userId)).token), 'SESSION_TOKEN_INVALID');
  });

  it.each([
    ['another token type (a queue token)', () => forge((j) => j, { alg: 'HS256', typ: 'queue+jwt' })],
    ['no token type', () => forge((j) => j, { alg: 'HS256' })],
    ['another issuer', () => forge((j) => j.setIssuer('someone-else'))],
    ['another audience', () => forge((j) => j.setAudience('internal'))],
    ['a subject that is not a user id', () => forge((j) => j.setSubject('admin'))],
    ['no jti', () => new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: SESSION_TOKEN_TYPE }).setIssuer('queue-gateway').setAudience('ticketing-api').setSubject(userId).setIssuedAt().setExpirationTime('1h').sign(key)],
    ['HS512 instead of HS256', () => forge((j) => j, { alg: 'HS512', typ: SESSION_TOKEN_TYPE })],
    ['alg none', async () => new UnsecuredJWT({ sub: userId, jti: randomUUID() }).setIssuer('queue-gateway').setAudience('ticketing-api').setIssuedAt().setExpirationTime('1h').encode()],
    ['an empty string', async () => ''],
    ['garbage', async () => 'not.a.jwt'],
  ])('refuses %s with SESSION_TOKEN_INVALID', async (_label, make) => {
    await rejectsWith(tokens.verify(await make()), 'SESSION_TOKEN_INVALID');
  });

  it('refuses a secret shorter than 32 bytes at construction', () => {
    expect(() => createSessionTokens({ ...options, secret: 'too-short' })).toThrow(RangeError);
  });
});
