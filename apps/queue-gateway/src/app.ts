import { createHttpApp, type HttpApp, type InternalAuth, type ReadinessCheck } from '@ticketing/http';
import type { Logger, Registry } from '@ticketing/telemetry';
import compression from 'compression';
import express, { type RequestHandler } from 'express';
import path from 'node:path';
import swaggerUi from 'swagger-ui-express';
import { concertIdParams } from '@ticketing/contracts';
import { parseOrThrow, ProblemError } from '@ticketing/http';
import type { Request } from 'express';
import { createAccessCheck, type AccessDeps } from './access/access.middleware';
import type { QueueTokens } from './access/queue-token';
import { forwardingRoutes, type ForwardingDeps } from './forwarding/forwarding.routes';
import { buildOpenApiDocument } from './openapi/openapi.document';
import { presentStatus, queueRoutes, queueStatusRoutes } from './queue/queue.routes';
import { withUserLimit } from './rate-limits/limited-access';
import type { RateLimits } from './rate-limits/rate-limits';
import { createStatusStreams, type StatusStreams } from './queue/status-streams';
import { createSessionsRouter } from './sessions/sessions.routes';
import type { SessionTokens } from './sessions/session-token';
import type { PasswordHasher } from './users/password-hasher';
import type { UserRepository } from './users/user.repository';
import { createUsersRouter } from './users/users.routes';
import { createAdmissions } from './waiting-room/admissions';
import type { Rooms } from './waiting-room/rooms';
import type { ProofOfWork } from './queue/proof-of-work';

export interface AppDeps {
  logger: Logger;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
  users: UserRepository;
  hasher: PasswordHasher;
  sessionTokens: SessionTokens;
  queueTokens: QueueTokens;
  /** One waiting room per concert sale: each room in Redis (entering, leaving, exact checks) and this process's view of it (polls, streams). */
  rooms: Rooms;
  /** Hooks run before a fan enters a room (after the session check and the body's validation). */
  beforeEntry?: ((req: Request, concertId: string) => Promise<void>)[];
  /** Challenges and their check, for sales that ask for a proof-of-work on entry. */
  proofOfWork: ProofOfWork;
  /** SSE comment interval (tests shorten it). */
  heartbeatMs?: number;
  internalAuth: InternalAuth;
  adminKey: string;
  upstreams: ForwardingDeps['upstreams'];
  upstreamTimeoutMs: number;
  /** Largest request body, on the gateway's own routes and forwarded ones (413 beyond; default 16 KiB). */
  bodyLimitBytes?: number;
  /** The fan web app's build (apps/web/dist), served at `/`; default: that folder of this repository. */
  webRoot?: string;
  /** Request limits shared by every instance through Redis (rate-limits/). */
  rateLimits: RateLimits;
  /** Express `trust proxy`: false = the client is the socket's remote address, never X-Forwarded-For. */
  trustProxy: false | number | string[];
}

const DEFAULT_WEB_ROOT = path.resolve(__dirname, '../../web/dist');

/**
 * The fan web app: `GET /` (index.html, never cached, so a new build is picked up) and its files
 * (content-hashed names, cached for good). Never anything under /api: those are the API's, also
 * when they do not exist (404 problem+json). Without a build, `/` is a 404 like any unknown path.
 * Files go out gzipped to browsers that ask for it.
 */
function webApp(root: string): RequestHandler {
  const files = express.static(root, {
    index: 'index.html',
    redirect: false,
    setHeaders: (res, file) => res.setHeader('cache-control', path.basename(path.dirname(file)) === 'assets' ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
  // Gzipped here only: the API's answers stay as they are (event streams must not be buffered).
  const gzip = compression();
  return (req, res, next) => (req.path === '/api' || req.path.startsWith('/api/') ? next() : gzip(req, res, () => files(req, res, next)));
}

/**
 * Builds the gateway's HTTP app without listening, so tests can run it in-process; `ops` serves
 * readiness and metrics on the operations port; `streams` are its open event streams (closed first
 * on shutdown, as they never end by themselves).
 */
export function createApp(deps: AppDeps): HttpApp & { streams: StatusStreams } {
  const { rooms } = deps;
  const admissions = createAdmissions(rooms);
  const streams = createStatusStreams({
    source: {
      peek: admissions.peek,
      status: admissions.fromSnapshot,
      onSnapshot: (concertId, listener) => rooms.room(concertId).view.onSnapshot(listener),
    },
    present: (concertId, place) => presentStatus(concertId, place, rooms.room(concertId).waitingRoom.pollAfterMs(place)),
    heartbeatMs: deps.heartbeatMs,
  });
  const accessDeps: AccessDeps = {
    verifySession: (token) => deps.sessionTokens.verify(token),
    queueTokens: deps.queueTokens,
    admission: admissions.exact,
    admissionFromSnapshot: admissions.fromSnapshot,
    peekAdmissionFromSnapshot: admissions.peek,
    adminKey: deps.adminKey,
  };
  const accessCheck = createAccessCheck(accessDeps);
  // Every route a fan is signed in for also counts against that fan's request limit.
  const requireAccess = withUserLimit(accessCheck, deps.rateLimits.perUser);
  const openApi = buildOpenApiDocument();
  const http = createHttpApp(
    {
      // No internalAuth here: the gateway is the public entrance; it signs, it does not require.
      // Readiness and metrics go to the ops app (its own port): only /health/live is public.
      separateOperations: true,
      logger: deps.logger,
      metrics: deps.metrics,
      readiness: deps.readiness,
      bodyLimit: deps.bodyLimitBytes,
      // The per-address limit runs ahead of every route but /health/live.
      mountFirst: (app) => app.use(deps.rateLimits.perAddress, queueStatusRoutes({ requireAccess, room: rooms.room, streams })),
      // Forwarded requests are read whole (raw, bounded) before the owning service is called.
      mountBeforeBodyParsing: (app) =>
        app.use(forwardingRoutes({ upstreams: deps.upstreams, requireAccess, internalAuth: deps.internalAuth, timeoutMs: deps.upstreamTimeoutMs, bodyLimitBytes: deps.bodyLimitBytes, logger: deps.logger })),
    },
    (app) => {
      app.get('/api/docs/openapi.json', (_req, res) => res.json(openApi));
      app.use('/api/docs', swaggerUi.serve, swaggerUi.setup(openApi));
      app.use(createUsersRouter({ users: deps.users, hasher: deps.hasher, limit: deps.rateLimits.signUp }));
      app.use(createSessionsRouter({ users: deps.users, hasher: deps.hasher, sessionTokens: deps.sessionTokens, guard: deps.rateLimits.logIn }));
      // The sale's proof-of-work difficulty, as the room's last tick read it (0 = none asked).
      const difficultyOf = async (concertId: string) => {
        const { waitingRoom } = rooms.room(concertId);
        return (waitingRoom.sale() ?? (await waitingRoom.describe()).sale)?.powDifficulty ?? 0;
      };
      const proofOfWork = async (req: Request, concertId: string) => {
        const difficulty = await difficultyOf(concertId);
        if (difficulty > 0) await deps.proofOfWork.verify((req.body as { proof?: { challenge: string; nonce: string } }).proof, req.principal!.userId!, concertId, difficulty);
      };
      app.get('/api/v1/queue/challenge', requireAccess('user'), async (req, res) => {
        const { concertId } = parseOrThrow(concertIdParams, req.query, 'query');
        const id = concertId.toLowerCase();
        res.set('cache-control', 'no-store').json(await deps.proofOfWork.challenge(req.principal!.userId!, id, await difficultyOf(id)));
      });
      // Entering a room and leaving it each take a step of the fan's entry limit (every entry after a
      // leave is a new ticket), before the queue routes run.
      app.post('/api/v1/queue/tokens', accessCheck('user'), deps.rateLimits.queueEntry);
      app.delete('/api/v1/queue/tokens/me', accessCheck('user'), deps.rateLimits.queueEntry);
      app.use(queueRoutes({ requireAccess, queueTokens: deps.queueTokens, room: rooms.room, beforeEntry: [...(deps.beforeEntry ?? []), proofOfWork] }));
      // An operator's look at one sale's room: its settings, counts, measured rate and the pre-queue's draw record.
      app.get('/api/v1/admin/waiting-rooms/:concertId', requireAccess('admin'), async (req, res) => {
        const { concertId } = parseOrThrow(concertIdParams, req.params, 'path');
        const { waitingRoom } = rooms.room(concertId);
        const [{ sale, draw }, stats] = await Promise.all([waitingRoom.describe(), waitingRoom.stats()]);
        if (!sale) throw new ProblemError('SALE_NOT_FOUND', 'this concert has no sale with a waiting room');
        const iso = (ms: number) => new Date(ms).toISOString();
        res.set('cache-control', 'no-store').json({
          concertId: concertId.toLowerCase(),
          sale: { ...sale, queueOpensAt: iso(sale.queueOpensAt), saleOpensAt: iso(sale.saleOpensAt) },
          ...stats,
          draw: draw && { ...draw, drawnAt: iso(draw.drawnAt), order: 'ascending sha1(seed || user id as 16 bytes); drawn fans got tickets firstTicket, firstTicket+1, ... in that order' },
        });
      });
      app.use(webApp(deps.webRoot ?? DEFAULT_WEB_ROOT));
    },
  );
  // The gateway's own answers are per-fan and no-store; hashing each body for an ETag buys nothing.
  // Forwarded answers keep the services' ETags (the proxy passes headers through).
  http.app.set('etag', false);
  // Who the client is (the limits' address): the socket's peer unless TRUST_PROXY names the proxies in front.
  http.app.set('trust proxy', deps.trustProxy);
  return { ...http, streams };
}
