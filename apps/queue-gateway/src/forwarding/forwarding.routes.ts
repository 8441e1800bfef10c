import { INTERNAL_AUTH_HEADER, PROBLEM_CONTENT_TYPE, ProblemError, type AccessLevel, type InternalAuth } from '@ticketing/http';
import { currentTraceId, unsampledTraceparent, type Logger } from '@ticketing/telemetry';
import { Router, type RequestHandler } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { Agent, type ServerResponse } from 'node:http';
import { API_PREFIX, ROUTE_POLICY, type Upstream } from '../access/route-policy';
import type { RequireAccess } from '../access/access.middleware';

export interface ForwardingDeps {
  upstreams: Record<Exclude<Upstream, 'gateway'>, string>;
  requireAccess: RequireAccess;
  internalAuth: InternalAuth;
  timeoutMs: number;
  logger: Logger;
}

/**
 * Headers that carry a client's credentials or claims about who is calling: none reaches a service
 * (a log line or a compromised service there would otherwise hold every fan's session and the admin key).
 */
export const CLIENT_CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-queue-token', 'x-admin-key', 'x-user-id', INTERNAL_AUTH_HEADER] as const;

function sendProblem(res: ServerResponse, problem: ProblemError) {
  if (res.headersSent) return res.destroy();
  res.writeHead(problem.status, { 'content-type': PROBLEM_CONTENT_TYPE });
  res.end(JSON.stringify(problem.toBody(currentTraceId())));
}

/**
 * The gateway's signed statement about a caller, reused for the first half of its lifetime: signing a
 * JWT for every forwarded call is a noticeable share of the gateway's work, and a token for the same
 * user and access level says exactly the same thing. Bounded; the oldest entries go first.
 */
function reusedCredentials(internalAuth: InternalAuth, maxEntries = 20_000) {
  const issued = new Map<string, { token: string; reuseUntilMs: number }>();
  return async (userId: string | undefined, access: AccessLevel, sale?: { concertId: string; ticket: number }): Promise<string> => {
    const key = `${access}:${userId ?? ''}:${sale ? `${sale.concertId}:${sale.ticket}` : ''}`;
    const hit = issued.get(key);
    if (hit && Date.now() < hit.reuseUntilMs) return hit.token;
    const token = await internalAuth.sign(sale ? { userId, access, sale } : { userId, access });
    const { iat, exp } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { iat?: number; exp?: number };
    if (typeof iat === 'number' && typeof exp === 'number' && exp > iat) {
      issued.delete(key);
      if (issued.size >= maxEntries) issued.delete(issued.keys().next().value!);
      issued.set(key, { token, reuseUntilMs: ((iat + exp) / 2) * 1000 });
    }
    return token;
  };
}

/**
 * Forwards admitted requests to the owning service with http-proxy-middleware: bodies stream
 * through untouched, a service that does not answer in time gives 504, one that is down 503.
 * The caller's identity goes along as the gateway's signed internal credentials (never a client header).
 */
export function forwardingRoutes({ upstreams, requireAccess, internalAuth, timeoutMs, logger }: ForwardingDeps): Router {
  const router = Router();
  // Without an agent http-proxy sends `Connection: close`: a new TCP connection to the service for
  // every request, and the client's connection closed after every answer.
  const agent = new Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 10_000 });
  const proxies = Object.fromEntries(
    Object.entries(upstreams).map(([name, target]) => [
      name,
      createProxyMiddleware({
        target,
        agent,
        changeOrigin: false,
        proxyTimeout: timeoutMs,
        xfwd: true,
        on: {
          // A request the gateway does not record is not instrumented, so nothing injects its trace
          // context: send it (unsampled), so the service's logs carry the same trace id.
          proxyReq: (proxyReq) => {
            const traceparent = unsampledTraceparent();
            if (traceparent) proxyReq.setHeader('traceparent', traceparent);
          },
          error: (error, req, res) => {
            const code = (error as NodeJS.ErrnoException).code;
            logger.warn({ err: error, upstream: name, path: req.url }, 'upstream call failed');
            const problem =
              code === 'ECONNREFUSED' || code === 'ENOTFOUND'
                ? new ProblemError('SERVICE_UNAVAILABLE', `${name} is not reachable; try again shortly`)
                : new ProblemError('UPSTREAM_TIMEOUT', `${name} did not answer within ${timeoutMs} ms`);
            if ('writeHead' in res) sendProblem(res as ServerResponse, problem);
            else res.destroy();
          },
        },
      }),
    ]),
  ) as unknown as Record<Exclude<Upstream, 'gateway'>, RequestHandler>;

  const credentials = reusedCredentials(internalAuth);
  // The client's own credentials end here: a service trusts only the gateway's signed statement.
  // Whatever the client sent as that statement (or as a user id) is replaced too, never passed on.
  const signCaller =
    (access: AccessLevel): RequestHandler =>
    async (req, _res, next) => {
      try {
        for (const header of CLIENT_CREDENTIAL_HEADERS) delete req.headers[header];
        // Queue and active calls carry the sale the fan was admitted to: the service that knows which
        // concert a date belongs to refuses another concert's (403 WRONG_SALE).
        const { userId, concertId, ticket } = req.principal ?? {};
        const sale = concertId && ticket !== undefined && (access === 'queue' || access === 'active') ? { concertId, ticket } : undefined;
        req.headers[INTERNAL_AUTH_HEADER] = await credentials(userId, access, sale);
        next();
      } catch (error) {
        next(error);
      }
    };

  for (const policy of ROUTE_POLICY) {
    if (policy.upstream === 'gateway') continue;
    const method = policy.method.toLowerCase() as 'get' | 'post' | 'delete' | 'put' | 'patch';
    router[method](`${API_PREFIX}${policy.path}`, requireAccess(policy.access), signCaller(policy.access), proxies[policy.upstream]);
  }
  return router;
}
