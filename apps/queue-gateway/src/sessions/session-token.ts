import { ids } from '@ticketing/contracts';
import { ProblemError } from '@ticketing/http';
import { errors, jwtVerify, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';

/**
 * Explicit token type in the JWS header (RFC 8725 §3.11). Verification requires it, so a token of
 * another kind (a queue token, say) is refused even if it were signed with the same key.
 */
export const SESSION_TOKEN_TYPE = 'session+jwt';
const ALGORITHM = 'HS256';

export interface SessionTokenOptions {
  /** HMAC key; at least 32 bytes (RFC 7518 §3.2: no shorter than the hash output). */
  secret: string;
  ttlSeconds: number;
  /** `iss` claim, e.g. 'queue-gateway'. */
  issuer: string;
  /** `aud` claim; defaults to the public API. */
  audience?: string;
  /** Milliseconds since the epoch; injectable so tests can mint tokens in the past. */
  now?: () => number;
}

export interface IssuedSessionToken {
  token: string;
  expiresAt: Date;
}

export interface SessionTokens {
  /** Signs a session for `userId`, valid for the configured TTL. */
  issue(userId: string): Promise<IssuedSessionToken>;
  /** The user of a valid token; throws ProblemError SESSION_EXPIRED or SESSION_TOKEN_INVALID otherwise. */
  verify(token: string): Promise<{ userId: string }>;
}

/** Stateless session tokens: HS256 JWTs with iss, aud, sub (user id), jti, iat and exp. */
export function createSessionTokens({ secret, ttlSeconds, issuer, audience = 'ticketing-api', now = Date.now }: SessionTokenOptions): SessionTokens {
  const key = new TextEncoder().encode(secret);
  if (key.length < 32) throw new RangeError('session token secret must be at least 32 bytes');
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new RangeError('session token ttlSeconds must be a positive integer');

  return {
    async issue(userId) {
      const issuedAt = Math.floor(now() / 1000);
      const expiresAt = issuedAt + ttlSeconds;
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: ALGORITHM, typ: SESSION_TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(userId)
        .setJti(randomUUID())
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(key);
      return { token, expiresAt: new Date(expiresAt * 1000) };
    },

    async verify(token) {
      let subject: unknown;
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM], // never 'none', never a key confusion with an asymmetric alg
          issuer,
          audience,
          typ: SESSION_TOKEN_TYPE,
          requiredClaims: ['sub', 'jti', 'iat', 'exp'],
          currentDate: new Date(now()),
        });
        subject = payload.sub;
      } catch (error) {
        // jose checks the signature before the claims, so only a genuine token can be "expired".
        if (error instanceof errors.JWTExpired) throw new ProblemError('SESSION_EXPIRED', 'the session has expired; log in again');
        if (error instanceof errors.JOSEError) throw new ProblemError('SESSION_TOKEN_INVALID', 'the session token is not valid');
        throw error;
      }
      if (!ids.user.safeParse(subject).success) throw new ProblemError('SESSION_TOKEN_INVALID', 'the session token is not valid');
      return { userId: subject as string };
    },
  };
}
