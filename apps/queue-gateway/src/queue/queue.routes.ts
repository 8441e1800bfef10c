import { Router, type Request, type Response } from 'express';
import type { AdmissionView, RequireAccess } from '../access/access.middleware';
import type { QueueTokens } from '../access/queue-token';

/** The waiting room as the queue routes see it (implemented in ../waiting-room). */
export interface WaitingRoomPort {
  enter(userId: string): Promise<{ ticket: number } & AdmissionView>;
  /** Where this ticket stands (EXPIRED unless it is the user's current one); renews the waiting lease. */
  status(userId: string, ticket: number): Promise<AdmissionView>;
  leave(userId: string, ticket: number): Promise<unknown>;
  pollAfterMs(view: AdmissionView): number;
}

export interface QueueRoutesDeps {
  requireAccess: RequireAccess;
  queueTokens: QueueTokens;
  waitingRoom: WaitingRoomPort;
  heartbeatMs?: number;
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

export function queueRoutes({ requireAccess, queueTokens, waitingRoom, heartbeatMs = 15_000 }: QueueRoutesDeps): Router {
  const router = Router();
  const principal = (req: Request) => req.principal as { userId: string; ticket: number; admission: AdmissionView };

  // Entering is cheap on purpose: no password hash here, only the session signature and one Redis script.
  router.post('/api/v1/queue/tokens', requireAccess('user'), async (req, res) => {
    const userId = req.principal!.userId!;
    const place = await waitingRoom.enter(userId);
    const queueToken = await queueTokens.issue({ userId, ticket: place.ticket });
    res.status(201).json({ queueToken, ...presentStatus(place, waitingRoom.pollAfterMs(place)) });
  });

  // The status route answers an expired token with 200 EXPIRED, so a client learns it must line up again.
  router.get('/api/v1/queue/status', requireAccess('queue', { allowExpired: true }), (req, res) => {
    const { admission } = principal(req);
    res.set('cache-control', 'no-store').json(presentStatus(admission, waitingRoom.pollAfterMs(admission)));
  });

  router.delete('/api/v1/queue/tokens/me', requireAccess('queue'), async (req, res) => {
    const { userId, ticket } = principal(req);
    await waitingRoom.leave(userId, ticket);
    res.status(204).end();
  });

  // Server-sent events: the status again whenever it changes; comments keep proxies from closing an idle stream.
  router.get('/api/v1/queue/events', requireAccess('queue'), (req: Request, res: Response) => {
    const { userId, ticket, admission } = principal(req);
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let last = '';
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    // Re-read the place as often as a polling client would be told to (often near the head, rarely far
    // back); reading it also renews the waiting lease, so an open stream holds the place like polling.
    const schedule = (view: AdmissionView) => {
      if (!closed) timer = setTimeout(() => waitingRoom.status(userId, ticket).then(send, () => schedule(view)), waitingRoom.pollAfterMs(view));
    };
    const send = (view: AdmissionView) => {
      const data = JSON.stringify(presentStatus(view, waitingRoom.pollAfterMs(view)));
      if (data !== last) {
        last = data;
        res.write(`event: status\ndata: ${data}\n\n`);
      }
      if (view.status === 'EXPIRED') close();
      else schedule(view);
    };
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
    const close = () => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      clearInterval(heartbeat);
      res.end();
    };
    req.on('close', close);
    send(admission);
  });

  return router;
}
