import { ProblemError } from '@ticketing/http';
import { errors, jwtVerify, SignJWT } from 'jose';

const ISSUER = 'queue-gateway';
const AUDIENCE = 'waiting-room';

/**
 * Remembers tokens that passed verification, until their own `exp`: a fan sends the same session and
 * queue token with every request, and checking the signature and claims again each time is a large
 * share of the gateway's work per forwarded call. Only successes are kept (a bad token is checked
 * every time), the entry never outlives the token, and the map is bounded (oldest entries go first).
 */
export function createVerifiedTokenCache<T>({ maxEntries = 20_000, now = Date.now }: { maxEntries?: number; now?: () => number } = {}) {
  const entries = new Map<string, { value: T; expiresAtMs: number }>();
  return {
    /** The remembered value of a token verified before and not yet expired, without a promise (the hot path). */
    peek(token: string): T | undefined {
      const hit = entries.get(token);
      return hit && now() < hit.expiresAtMs ? hit.value : undefined;
    },

    async get(token: string, verify: (token: string) => Promise<T>): Promise<T> {
      const hit = entries.get(token);
      if (hit) {
        if (now() < hit.expiresAtMs) return hit.value;
        entries.delete(token);
      }
      const value = await verify(token);
      const expiresAtMs = expiryOf(token);
      if (expiresAtMs !== undefined && now() < expiresAtMs) {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
        entries.set(token, { value, expiresAtMs });
      }
      return value;
    },
  };
}

/** `exp` of a JWT that has just been verified (so its payload is genuine), in milliseconds. */
function expiryOf(token: string): number | undefined {
  try {
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export interface QueueTokenClaims {
  userId: string;
  /** The concert whose sale's waiting room the token is a place in. */
  concertId: string;
  /** The arrival ticket: the token's id. A token whose ticket is not the user's current one is expired. */
  ticket: number;
  /** Entered in the pre-queue: `ticket` names that entry, and the place it was drawn is looked up after the opening. */
  preQueue?: boolean;
}

/**
 * Signed queue tokens (HS256, their own secret and audience, so a session token is never accepted as
 * a queue token or the other way round). The waiting room, not the token, says whether it is still good.
 */
export function createQueueTokens({ secret, ttlSeconds = 24 * 3600 }: { secret: string; ttlSeconds?: number }) {
  const key = new TextEncoder().encode(secret);
  const verified = createVerifiedTokenCache<QueueTokenClaims>();

  async function verifySignedClaims(token: string): Promise<QueueTokenClaims> {
    try {
      const { payload } = await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'], typ: 'queue+jwt' });
      if (typeof payload.sub !== 'string' || typeof payload.tkt !== 'number' || typeof payload.crt !== 'string') throw new Error('missing claims');
      return payload.pq === true ? { userId: payload.sub, concertId: payload.crt, ticket: payload.tkt, preQueue: true } : { userId: payload.sub, concertId: payload.crt, ticket: payload.tkt };
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new ProblemError('QUEUE_TOKEN_EXPIRED', 'the queue token has expired; line up again');
      throw new ProblemError('QUEUE_TOKEN_INVALID', 'the queue token is malformed or not signed by this system');
    }
  }

  return {
    issue({ userId, concertId, ticket, preQueue }: QueueTokenClaims): Promise<string> {
      return new SignJWT(preQueue ? { tkt: ticket, crt: concertId, pq: true } : { tkt: ticket, crt: concertId })
        .setProtectedHeader({ alg: 'HS256', typ: 'queue+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(userId)
        .setJti(`${concertId}:${preQueue ? 'p' : ''}${ticket}`)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key);
    },

    /** The claims of a token verified before, if it is remembered and not expired (no promise). */
    peek(token: string): QueueTokenClaims | undefined {
      return verified.peek(token);
    },

    /** Throws 401 QUEUE_TOKEN_INVALID for anything malformed or forged, QUEUE_TOKEN_EXPIRED past its lifetime. */
    verify(token: string): Promise<QueueTokenClaims> {
      return verified.get(token, verifySignedClaims);
    },
  };
}

export type QueueTokens = ReturnType<typeof createQueueTokens>;
