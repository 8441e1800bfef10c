import { ProblemError } from '@ticketing/http';
import { errors, jwtVerify, SignJWT } from 'jose';

const ISSUER = 'queue-gateway';
const AUDIENCE = 'waiting-room';

export interface QueueTokenClaims {
  userId: string;
  /** The arrival ticket: the token's id. A token whose ticket is not the user's current one is expired. */
  ticket: number;
}

/**
 * Signed queue tokens (HS256, their own secret and audience, so a session token is never accepted as
 * a queue token or the other way round). The waiting room, not the token, says whether it is still good.
 */
export function createQueueTokens({ secret, ttlSeconds = 24 * 3600 }: { secret: string; ttlSeconds?: number }) {
  const key = new TextEncoder().encode(secret);
  return {
    issue({ userId, ticket }: QueueTokenClaims): Promise<string> {
      return new SignJWT({ tkt: ticket })
        .setProtectedHeader({ alg: 'HS256', typ: 'queue+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(userId)
        .setJti(String(ticket))
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key);
    },

    /** Throws 401 QUEUE_TOKEN_INVALID for anything malformed or forged, QUEUE_TOKEN_EXPIRED past its lifetime. */
    async verify(token: string): Promise<QueueTokenClaims> {
      try {
        const { payload } = await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'], typ: 'queue+jwt' });
        if (typeof payload.sub !== 'string' || typeof payload.tkt !== 'number') throw new Error('missing claims');
        return { userId: payload.sub, ticket: payload.tkt };
      } catch (error) {
        if (error instanceof errors.JWTExpired) throw new ProblemError('QUEUE_TOKEN_EXPIRED', 'the queue token has expired; line up again');
        throw new ProblemError('QUEUE_TOKEN_INVALID', 'the queue token is malformed or not signed by this system');
      }
    },
  };
}

export type QueueTokens = ReturnType<typeof createQueueTokens>;
