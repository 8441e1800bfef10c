import { createHttpApp, type HttpApp, type InternalAuth, type ReadinessCheck } from '@ticketing/http';
import type { Logger, Registry } from '@ticketing/telemetry';
import swaggerUi from 'swagger-ui-express';
import { createAccessCheck, type AccessDeps } from './access/access.middleware';
import type { QueueTokens } from './access/queue-token';
import { forwardingRoutes, type ForwardingDeps } from './forwarding/forwarding.routes';
import { buildOpenApiDocument } from './openapi/openapi.document';
import { queueRoutes, type WaitingRoomPort } from './queue/queue.routes';
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
  waitingRoom: WaitingRoomPort;
  internalAuth: InternalAuth;
  adminKey: string;
  upstreams: ForwardingDeps['upstreams'];
  upstreamTimeoutMs: number;
}

/** Builds the gateway's HTTP app without listening, so tests can run it in-process. */
export function createApp(deps: AppDeps): HttpApp {
  const accessDeps: AccessDeps = {
    verifySession: (token) => deps.sessionTokens.verify(token),
    queueTokens: deps.queueTokens,
    admission: (userId, ticket) => deps.waitingRoom.status(userId, ticket),
    adminKey: deps.adminKey,
  };
  const requireAccess = createAccessCheck(accessDeps);
  const openApi = buildOpenApiDocument();
  return createHttpApp(
    {
      // No internalAuth here: the gateway is the public entrance; it signs, it does not require.
      logger: deps.logger,
      metrics: deps.metrics,
      readiness: deps.readiness,
      // Forwarded requests stream their bodies to the owning service untouched.
      mountBeforeBodyParsing: (app) =>
        app.use(forwardingRoutes({ upstreams: deps.upstreams, requireAccess, internalAuth: deps.internalAuth, timeoutMs: deps.upstreamTimeoutMs, logger: deps.logger })),
    },
    (app) => {
      app.get('/api/docs/openapi.json', (_req, res) => res.json(openApi));
      app.use('/api/docs', swaggerUi.serve, swaggerUi.setup(openApi));
      app.use(createUsersRouter({ users: deps.users, hasher: deps.hasher }));
      app.use(createSessionsRouter({ users: deps.users, hasher: deps.hasher, sessionTokens: deps.sessionTokens }));
      app.use(queueRoutes({ requireAccess, queueTokens: deps.queueTokens, waitingRoom: deps.waitingRoom }));
    },
  );
}
