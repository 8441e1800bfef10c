import { ProblemError, type AccessLevel } from '@ticketing/http';
import type { Request, RequestHandler } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { createVerifiedTokenCache, type QueueTokenClaims, type QueueTokens } from './queue-token';

/** What the waiting room says about a user's ticket (the admission port of the access check). */
export interface AdmissionView {
  status: 'PRE_QUEUE' | 'WAITING' | 'ACTIVE' | 'EXPIRED';
  position?: number;
  etaSeconds?: number;
  activeUntil?: number;
  /** PRE_QUEUE: when the sale opens and the pre-queue is drawn. */
  opensAt?: number;
}

/** A queue token's standing: the ticket it stands for now (a drawn pre-queue entry's ticket) and its place. */
export interface Admission {
  ticket: number;
  view: AdmissionView;
}

export interface AccessDeps {
  verifySession(token: string): Promise<{ userId: string }>;
  queueTokens: QueueTokens;
  /** Exact, from Redis: for routes that act on the admission. */
  admission(claims: QueueTokenClaims): Promise<Admission>;
  /** From this process's snapshot of the token's room where it can be (status polls and event streams). */
  admissionFromSnapshot(claims: QueueTokenClaims): Promise<Admission>;
  /** The same when this process can answer from memory at once, else undefined (no promise). */
  peekAdmissionFromSnapshot(claims: QueueTokenClaims): Admission | undefined;
  adminKey: string;
}

export interface Principal {
  userId?: string;
  /** The concert whose waiting room the queue token is a place in. */
  concertId?: string;
  /** The ticket the queue token stands for (after the draw, a pre-queue token's drawn ticket). */
  ticket?: number;
  /** The token's own claims, for routes that act on the entry itself (leaving). */
  claims?: QueueTokenClaims;
  admission?: AdmissionView;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Who the gateway verified this request to come from (set by `requireAccess`). */
    principal?: Principal;
  }
}

const bearer = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+)$/;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The per-route access check. 401 = no valid credentials (missing, malformed, forged, expired, a queue
 * token of another user); 403 = valid but not allowed (NOT_ADMITTED with position and ETA; not admin).
 * `allowExpired` lets the status route answer an expired queue token with 200 EXPIRED; `fromSnapshot`
 * reads the place from the process's snapshot of the room (a position that may be an upper bound).
 */
export function createAccessCheck(deps: AccessDeps) {
  const sessions = createVerifiedTokenCache<{ userId: string }>();

  function sessionToken(header: string | undefined): string {
    if (!header) throw new ProblemError('UNAUTHENTICATED', 'sign in first: send Authorization: Bearer <session token>');
    const match = bearer.exec(header);
    if (!match) throw new ProblemError('SESSION_TOKEN_INVALID', 'the Authorization header must be "Bearer <session token>"');
    return match[1];
  }

  return function requireAccess(level: AccessLevel, { allowExpired = false, fromSnapshot = false } = {}): RequestHandler {
    /** Throws the refusal, if any, once the caller and the admission are known. */
    const decide = (req: Request, claims: QueueTokenClaims, { ticket, view: admission }: Admission) => {
      req.principal = { userId: claims.userId, concertId: claims.concertId, ticket, claims, admission };
      if (admission.status === 'EXPIRED' && !allowExpired) {
        throw new ProblemError('QUEUE_TOKEN_EXPIRED', 'the queue token has expired (paid, left or timed out); line up again');
      }
      if (level === 'active' && admission.status === 'PRE_QUEUE') {
        throw new ProblemError('NOT_ADMITTED', 'the sale has not opened yet: your place is drawn at the opening', {
          opensAt: admission.opensAt ? new Date(admission.opensAt).toISOString() : null,
          position: null,
          etaSeconds: null,
        });
      }
      if (level === 'active' && admission.status !== 'ACTIVE') {
        throw new ProblemError('NOT_ADMITTED', 'you are still in the waiting room', { position: admission.position ?? null, etaSeconds: admission.etaSeconds ?? null });
      }
    };
    const queueTokenOf = (req: Request) => {
      const raw = req.get('x-queue-token');
      if (!raw) throw new ProblemError('QUEUE_TOKEN_MISSING', 'this route needs X-Queue-Token: line up with POST /api/v1/queue/tokens');
      return raw;
    };

    const check = async (req: Request): Promise<void> => {
      const userId = (await sessions.get(sessionToken(req.get('authorization')), deps.verifySession)).userId;
      if (level === 'user') {
        req.principal = { userId };
        return;
      }
      const claims = await deps.queueTokens.verify(queueTokenOf(req));
      // A queue token is only honoured with a session of the same user.
      if (claims.userId !== userId) throw new ProblemError('QUEUE_TOKEN_INVALID', 'the queue token belongs to another user');
      decide(req, claims, await (fromSnapshot ? deps.admissionFromSnapshot : deps.admission)(claims));
    };

    /**
     * A status poll of a fan this process knows (tokens verified before, place in memory) is decided
     * without a promise: at thousands of polls a second each await is measurable. Anything else
     * takes the full path.
     */
    const decidedAtOnce = (req: Request): boolean => {
      if (!fromSnapshot) return false;
      const session = sessions.peek(sessionToken(req.get('authorization')));
      if (!session) return false;
      const claims = deps.queueTokens.peek(queueTokenOf(req));
      if (!claims || claims.userId !== session.userId) return false;
      const admission = deps.peekAdmissionFromSnapshot(claims);
      if (!admission) return false;
      decide(req, claims, admission);
      return true;
    };

    return (req, _res, next) => {
      try {
        if (level === 'public') return next();
        if (level === 'admin') {
          const key = req.get('x-admin-key');
          if (!key || !sameSecret(key, deps.adminKey)) throw new ProblemError('ADMIN_REQUIRED', 'this route needs a valid X-Admin-Key');
          req.principal = {};
          return next();
        }
        if (decidedAtOnce(req)) return next();
      } catch (error) {
        return next(error);
      }
      check(req).then(() => next(), next);
    };
  };
}

export type RequireAccess = ReturnType<typeof createAccessCheck>;
