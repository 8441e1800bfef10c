import { queueEntryRequest } from '@ticketing/contracts';
import { parseOrThrow, ProblemError } from '@ticketing/http';
import { Router, type Request, type Response } from 'express';
import type { AdmissionView, RequireAccess } from '../access/access.middleware';
import type { QueueTokenClaims, QueueTokens } from '../access/queue-token';
import type { StatusStreams } from './status-streams';

/** One room as the queue routes see it (implemented in ../waiting-room). */
export interface RoomPort {
  waitingRoom: {
    enter(userId: string): Promise<({ ticket: number } & AdmissionView) | { refused: 'NO_SALE' } | { refused: 'NOT_OPEN'; queueOpensAt: number }>;
    leave(userId: string, ticket: number): Promise<unknown>;
    leavePreQueue(userId: string, preTicket: number): Promise<unknown>;
    pollAfterMs(view: AdmissionView): number;
  };
  /** This process's view of the room: what polls and streams are answered from (../waiting-room/room-view.ts). */
  view: {
    /** The place a fan who has just entered is shown (the bound later polls show, so it never rises). */
    entered(userId: string, ticket: number, place: AdmissionView): AdmissionView;
    forget(ticket: number): void;
  };
}

export interface QueueRoutesDeps {
  requireAccess: RequireAccess;
  queueTokens: QueueTokens;
  room(concertId: string): RoomPort;
  streams: StatusStreams;
  /** Hooks run before a fan enters a room (e.g. a proof-of-work check), after the session check and the body's validation. */
  beforeEntry?: ((req: Request, concertId: string) => Promise<void>)[];
}

/** Milliseconds between polls in the pre-queue: often enough to keep the lease, and to see the opening soon after it. */
function preQueuePollAfterMs(view: AdmissionView, pollAfter: number, now = Date.now()): number {
  if (!view.opensAt) return pollAfter;
  return Math.max(250, Math.min(pollAfter, view.opensAt - now + 250));
}

/** The public shape of a place in the line: an ACTIVE user has no position, a WAITING one no activeUntil. */
export function presentStatus(concertId: string, view: AdmissionView, pollAfterMs: number) {
  return {
    status: view.status,
    concertId,
    position: view.status === 'WAITING' ? (view.position ?? null) : null,
    etaSeconds: view.status === 'WAITING' ? (view.etaSeconds ?? null) : view.status === 'ACTIVE' ? 0 : null,
    opensAt: view.status === 'PRE_QUEUE' && view.opensAt ? new Date(view.opensAt).toISOString() : null,
    activeUntil: view.status === 'ACTIVE' && view.activeUntil ? new Date(view.activeUntil).toISOString() : null,
    pollAfterMs: view.status === 'PRE_QUEUE' ? preQueuePollAfterMs(view, pollAfterMs) : pollAfterMs,
  };
}

type QueuePrincipal = { userId: string; concertId: string; ticket: number; claims: QueueTokenClaims; admission: AdmissionView };
const principal = (req: Request) => req.principal as QueuePrincipal;

/**
 * `GET /queue/status` and `GET /queue/events`, what a waiting crowd calls most and holds open: answered
 * from this process's snapshot of the token's room (the access check reads it); an expired token gets 200
 * EXPIRED on the status route, so a client learns it must line up again. Mounted ahead of the other
 * routers and the request log (see createHttpApp's `mountFirst`): a request log line and child logger
 * per poll, or held by every open stream, is a cost with nothing to show for it.
 */
export function queueStatusRoutes({ requireAccess, room, streams }: Pick<QueueRoutesDeps, 'requireAccess' | 'room' | 'streams'>): Router {
  const router = Router();
  router.get('/api/v1/queue/status', requireAccess('queue', { allowExpired: true, fromSnapshot: true }), (req, res) => {
    const { concertId, admission } = principal(req);
    res.set('cache-control', 'no-store').json(presentStatus(concertId, admission, room(concertId).waitingRoom.pollAfterMs(admission)));
  });

  // Server-sent events: the status again whenever it changes, pushed from each snapshot; an open stream
  // holds the place like polling (the view renews its lease).
  router.get('/api/v1/queue/events', requireAccess('queue', { fromSnapshot: true }), (req: Request, res: Response) => {
    const { userId, concertId, claims, admission } = principal(req);
    streams.open(res, { concertId, userId, claims, first: admission });
  });

  return router;
}

export function queueRoutes({ requireAccess, queueTokens, room, beforeEntry = [] }: Omit<QueueRoutesDeps, 'streams'>): Router {
  const router = Router();

  // Entering is cheap on purpose: no password hash here, only the session signature and one Redis script.
  router.post('/api/v1/queue/tokens', requireAccess('user'), async (req, res) => {
    const userId = req.principal!.userId!;
    const { concertId: requested } = parseOrThrow(queueEntryRequest, req.body ?? {});
    const concertId = requested.toLowerCase();
    for (const hook of beforeEntry) await hook(req, concertId);
    const { waitingRoom, view } = room(concertId);
    const entry = await waitingRoom.enter(userId);
    if ('refused' in entry) {
      if (entry.refused === 'NO_SALE') throw new ProblemError('SALE_NOT_FOUND', 'this concert has no sale with a waiting room (yet)');
      throw new ProblemError('SALE_NOT_OPEN', `the waiting room opens at ${new Date(entry.queueOpensAt).toISOString()}`, {
        opensAt: new Date(entry.queueOpensAt).toISOString(),
      });
    }
    const { ticket, ...place } = entry;
    const shown = place.status === 'PRE_QUEUE' ? place : view.entered(userId, ticket, place);
    const queueToken = await queueTokens.issue({ userId, concertId, ticket, ...(place.status === 'PRE_QUEUE' ? { preQueue: true } : {}) });
    res.status(201).json({ queueToken, ...presentStatus(concertId, shown, waitingRoom.pollAfterMs(shown)) });
  });

  router.delete('/api/v1/queue/tokens/me', requireAccess('queue'), async (req, res) => {
    const { userId, concertId, ticket, claims, admission } = principal(req);
    const { waitingRoom, view } = room(concertId);
    if (admission.status === 'PRE_QUEUE') await waitingRoom.leavePreQueue(userId, claims.ticket);
    else {
      await waitingRoom.leave(userId, ticket);
      view.forget(ticket);
    }
    res.status(204).end();
  });

  return router;
}
