import { createHttpApp, type HttpApp, type InternalAuth, type ReadinessCheck } from '@ticketing/http';
import type { Logger, Registry } from '@ticketing/telemetry';
import swaggerUi from 'swagger-ui-express';
import { createAccessCheck, type AccessDeps, type AdmissionView } from './access/access.middleware';
import type { QueueTokens } from './access/queue-token';
import { forwardingRoutes, type ForwardingDeps } from './forwarding/forwarding.routes';
import { buildOpenApiDocument } from './openapi/openapi.document';
import { presentStatus, queueRoutes, queueStatusRoutes, type RoomViewPort, type WaitingRoomPort } from './queue/queue.routes';
import type { StreamSource } from './queue/status-streams';
import { createStatusStreams, type StatusStreams } from './queue/status-streams';
import { createSessionsRouter } from './sessions/sessions.routes';
import type { SessionTokens } from './sessions/session-token';
import type { PasswordHasher } from './users/password-hasher';
import type { UserRepository } from './users/user.repository';
import { createUsersRouter } from './users/users.routes';

export interface AppDeps {
  logger: Logger;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
  users: UserRepository;
  hasher: PasswordHasher;
  sessionTokens: SessionTokens;
  queueTokens: QueueTokens;
  /** The room in Redis: entering, leaving, exact admission checks. */
  waitingRoom: WaitingRoomPort & { status(userId: string, ticket: number): Promise<AdmissionView> };
  /** This process's snapshot of the room: status polls and event streams. */
  view: RoomViewPort & StreamSource & { peek(userId: string, ticket: number): AdmissionView | undefined };
  /** SSE comment interval (tests shorten it). */
  heartbeatMs?: number;
  internalAuth: InternalAuth;
  adminKey: string;
  upstreams: ForwardingDeps['upstreams'];
  upstreamTimeoutMs: number;
}

/**
 * Builds the gateway's HTTP app without listening, so tests can run it in-process; `ops` serves
 * readiness and metrics on the operations port; `streams` are its open event streams (closed first
 * on shutdown, as they never end by themselves).
 */
export function createApp(deps: AppDeps): HttpApp & { streams: StatusStreams } {
  const streams = createStatusStreams({
    view: deps.view,
    present: (place) => presentStatus(place, deps.waitingRoom.pollAfterMs(place)),
    heartbeatMs: deps.heartbeatMs,
  });
  const accessDeps: AccessDeps = {
    verifySession: (token) => deps.sessionTokens.verify(token),
    queueTokens: deps.queueTokens,
    admission: (userId, ticket) => deps.waitingRoom.status(userId, ticket),
    admissionFromSnapshot: (userId, ticket) => deps.view.status(userId, ticket),
    peekAdmissionFromSnapshot: (userId, ticket) => deps.view.peek(userId, ticket),
    adminKey: deps.adminKey,
  };
  const requireAccess = createAccessCheck(accessDeps);
  const openApi = buildOpenApiDocument();
  const http = createHttpApp(
    {
      // No internalAuth here: the gateway is the public entrance; it signs, it does not require.
      // Readiness and metrics go to the ops app (its own port): only /health/live is public.
      separateOperations: true,
      logger: deps.logger,
      metrics: deps.metrics,
      readiness: deps.readiness,
      mountFirst: (app) => app.use(queueStatusRoutes({ requireAccess, waitingRoom: deps.waitingRoom, streams })),
      // Forwarded requests stream their bodies to the owning service untouched.
      mountBeforeBodyParsing: (app) =>
        app.use(forwardingRoutes({ upstreams: deps.upstreams, requireAccess, internalAuth: deps.internalAuth, timeoutMs: deps.upstreamTimeoutMs, logger: deps.logger })),
    },
    (app) => {
      app.get('/api/docs/openapi.json', (_req, res) => res.json(openApi));
      app.use('/api/docs', swaggerUi.serve, swaggerUi.setup(openApi));
      app.use(createUsersRouter({ users: deps.users, hasher: deps.hasher }));
      app.use(createSessionsRouter({ users: deps.users, hasher: deps.hasher, sessionTokens: deps.sessionTokens }));
      app.use(queueRoutes({ requireAccess, queueTokens: deps.queueTokens, waitingRoom: deps.waitingRoom, view: deps.view }));
    },
  );
  // The gateway's own answers are per-fan and no-store; hashing each body for an ETag buys nothing.
  // Forwarded answers keep the services' ETags (the proxy passes headers through).
  http.app.set('etag', false);
  return { ...http, streams };
}
