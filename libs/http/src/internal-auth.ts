import type { RequestHandler } from 'express';
import { jwtVerify, SignJWT } from 'jose';
import { ProblemError } from './problem';

/** Header carrying the gateway's signed statement about who is calling. */
export const INTERNAL_AUTH_HEADER = 'x-internal-auth';

export type AccessLevel = 'public' | 'user' | 'queue' | 'active' | 'admin';

/** What a service may rely on: verified by the gateway, signed with the shared internal secret. */
export interface CallerIdentity {
  userId?: string;
  access: AccessLevel;
  /**
   * The sale (concert) whose waiting room admitted the caller and the queue ticket of that admission,
   * on `queue` and `active` calls. A service that knows which concert a date belongs to refuses a
   * date of another concert with 403 WRONG_SALE; the payment service records both so
   * `payment.completed` frees exactly that slot.
   */
  sale?: { concertId: string; ticket: number };
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by `requireGatewayCredentials` on internal services; the only source of the user id. */
    caller?: CallerIdentity;
  }
}

const ISSUER = 'queue-gateway';
const AUDIENCE = 'ticketing-internal';

/** Longest lifetime a service accepts for internal credentials (the gateway signs them for 60 s). */
export const MAX_INTERNAL_CREDENTIAL_TTL_SECONDS = 300;
/** Clock difference tolerated between the gateway and a service. */
const CLOCK_TOLERANCE_SECONDS = 5;

/**
 * Short-lived HS256 tokens the gateway attaches to every forwarded call. Services accept a call only
 * with one, so calling a service port directly is 401, and the user id always comes from here —
 * never from a body, a path or a client-set header. A token must say when it was issued and when it
 * expires, at most `MAX_INTERNAL_CREDENTIAL_TTL_SECONDS` apart: one without `exp` (or with a long
 * one) would be a key to the service for as long as the secret lives.
 */
export function createInternalAuth(secret: string, { ttlSeconds = 60 } = {}) {
  if (!(ttlSeconds > 0 && ttlSeconds <= MAX_INTERNAL_CREDENTIAL_TTL_SECONDS)) {
    throw new RangeError(`internal credentials live 1..${MAX_INTERNAL_CREDENTIAL_TTL_SECONDS} s (asked: ${ttlSeconds})`);
  }
  const key = new TextEncoder().encode(secret);
  return {
    async sign(identity: CallerIdentity): Promise<string> {
      const claims: Record<string, unknown> = { acc: identity.access };
      if (identity.sale) {
        claims.sal = identity.sale.concertId;
        claims.tkt = identity.sale.ticket;
      }
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime(`${ttlSeconds}s`);
      if (identity.userId) jwt.setSubject(identity.userId);
      return jwt.sign(key);
    },

    /** Middleware for internal services: 401 INTERNAL_AUTH_REQUIRED unless the gateway signed the call, recently. */
    requireGatewayCredentials(): RequestHandler {
      return async (req, _res, next) => {
        const token = req.get(INTERNAL_AUTH_HEADER);
        if (!token) return next(new ProblemError('INTERNAL_AUTH_REQUIRED', 'this service only answers calls forwarded by the gateway'));
        try {
          const { payload } = await jwtVerify(token, key, {
            issuer: ISSUER,
            audience: AUDIENCE,
            algorithms: ['HS256'],
            requiredClaims: ['exp', 'iat'],
            // Refuses an `iat` older than this, or in the future.
            maxTokenAge: MAX_INTERNAL_CREDENTIAL_TTL_SECONDS,
            clockTolerance: CLOCK_TOLERANCE_SECONDS,
          });
          if (payload.exp! - payload.iat! > MAX_INTERNAL_CREDENTIAL_TTL_SECONDS) throw new Error('lifetime too long');
          const caller: CallerIdentity = { userId: payload.sub, access: (payload.acc as AccessLevel) ?? 'public' };
          if (typeof payload.sal === 'string' && typeof payload.tkt === 'number') caller.sale = { concertId: payload.sal, ticket: payload.tkt };
          req.caller = caller;
          next();
        } catch {
          next(new ProblemError('INTERNAL_AUTH_REQUIRED', 'the internal credentials are invalid or expired'));
        }
      };
    },
  };
}

export type InternalAuth = ReturnType<typeof createInternalAuth>;
