import { Router, type Request, type Response } from 'express';
import type { AdmissionView, RequireAccess } from '../access/access.middleware';
import type { QueueTokens } from '../access/queue-token';
import type { StatusStreams } from './status-streams';

/** The waiting room as the queue routes see it (implemented in ../waiting-room). */
export interface WaitingRoomPort {
  enter(userId: string): Promise<{ ticket: number } & AdmissionView>;
  leave(userId: string, ticket: number): Promise<unknown>;
  pollAfterMs(view: AdmissionView): number;
}

/** This process's view of the room: what polls and streams are answered from (../waiting-room/room-view.ts). */
export interface RoomViewPort {
  /** The place a fan who has just entered is shown (the bound later polls show, so it never rises). */
  entered(userId: string, ticket: number, place: AdmissionView): AdmissionView;
  forget(ticket: number): void;
}

export interface QueueRoutesDeps {
  requireAccess: RequireAccess;
  queueTokens: QueueTokens;
  waitingRoom: WaitingRoomPort;
  view: RoomViewPort;
  streams: StatusStreams;
}

/** The public shape of a place in the line: an ACTIVE user has no position, a WAITING one no activeUntil. */
export function presentStatus(view: AdmissionView, pollAfterMs: number) {
  return {
    status: view.status,
    position: view.status === 'WAITING' ? (view.position ?? null) : null,
    etaSeconds: view.status === 'WAITING' ? (view.etaSeconds ?? null) : view.status === 'ACTIVE' ? 0 : null,
    activeUntil: view.status === 'ACTIVE' && view.activeUntil ? new Date(view.activeUntil).toISOString() : null,
    pollAfterMs,
  };
}

/**
 * `GET /queue/status` and `GET /queue/events`, what a waiting crowd calls most and holds open: answered
 * from this process's snapshot of the room (the access check reads it); an expired token gets 200
 * EXPIRED on the status route, so a client learns it must line up again. Mounted ahead of the other
 * routers and the request log (see createHttpApp's `mountFirst`): a request log line and child logger
 * per poll, or held by every open stream, is a cost with nothing to show for it.
 */
export function queueStatusRoutes({ requireAccess, waitingRoom, streams }: Pick<QueueRoutesDeps, 'requireAccess' | 'waitingRoom' | 'streams'>): Router {
  const router = Router();
  const principal = (req: Request) => req.principal as { userId: string; ticket: number; admission: AdmissionView };
  router.get('/api/v1/queue/status', requireAccess('queue', { allowExpired: true, fromSnapshot: true }), (req, res) => {
    const { admission } = principal(req);
    res.set('cache-control', 'no-store').json(presentStatus(admission, waitingRoom.pollAfterMs(admission)));
  });

  // Server-sent events: the status again whenever it changes, pushed from each snapshot; an open stream
  // holds the place like polling (the view renews its lease).
  router.get('/api/v1/queue/events', requireAccess('queue', { fromSnapshot: true }), (req: Request, res: Response) => {
    const { userId, ticket, admission } = principal(req);
    streams.open(res, { userId, ticket, first: admission });
  });

  return router;
}

export function queueRoutes({ requireAccess, queueTokens, waitingRoom, view }: Omit<QueueRoutesDeps, 'streams'>): Router {
  const router = Router();
  const principal = (req: Request) => req.principal as { userId: string; ticket: number; admission: AdmissionView };

  // Entering is cheap on purpose: no password hash here, only the session signature and one Redis script.
  router.post('/api/v1/queue/tokens', requireAccess('user'), async (req, res) => {
    const userId = req.principal!.userId!;
    const { ticket, ...entry } = await waitingRoom.enter(userId);
    const place = view.entered(userId, ticket, entry);
    const queueToken = await queueTokens.issue({ userId, ticket });
    res.status(201).json({ queueToken, ...presentStatus(place, waitingRoom.pollAfterMs(place)) });
  });

  router.delete('/api/v1/queue/tokens/me', requireAccess('queue'), async (req, res) => {
    const { userId, ticket } = principal(req);
    await waitingRoom.leave(userId, ticket);
    view.forget(ticket);
    res.status(204).end();
  });

  return router;
}
