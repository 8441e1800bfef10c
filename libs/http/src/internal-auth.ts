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
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by `requireGatewayCredentials` on internal services; the only source of the user id. */
    caller?: CallerIdentity;
  }
}

const ISSUER = 'queue-gateway';
const AUDIENCE = 'ticketing-internal';

/**
 * Short-lived HS256 tokens the gateway attaches to every forwarded call. Services accept a call only
 * with one, so calling a service port directly is 401, and the user id always comes from here —
 * never from a body, a path or a client-set header.
 */
export function createInternalAuth(secret: string, { ttlSeconds = 60 } = {}) {
  const key = new TextEncoder().encode(secret);
  return {
    async sign(identity: CallerIdentity): Promise<string> {
      const jwt = new SignJWT({ acc: identity.access }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime(`${ttlSeconds}s`);
      if (identity.userId) jwt.setSubject(identity.userId);
      return jwt.sign(key);
    },

    /** Middleware for internal services: 401 INTERNAL_AUTH_REQUIRED unless the gateway signed the call. */
    requireGatewayCredentials(): RequestHandler {
      return async (req, _res, next) => {
        const token = req.get(INTERNAL_AUTH_HEADER);
        if (!token) return next(new ProblemError('INTERNAL_AUTH_REQUIRED', 'this service only answers calls forwarded by the gateway'));
        try {
          const { payload } = await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
          req.caller = { userId: payload.sub, access: (payload.acc as AccessLevel) ?? 'public' };
          next();
        } catch {
          next(new ProblemError('INTERNAL_AUTH_REQUIRED', 'the internal credentials are invalid or expired'));
        }
      };
    },
  };
}

export type InternalAuth = ReturnType<typeof createInternalAuth>;
