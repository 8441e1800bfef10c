import { INTERNAL_AUTH_HEADER, PROBLEM_CONTENT_TYPE, ProblemError, type AccessLevel, type InternalAuth } from '@ticketing/http';
import { currentTraceId, unsampledTraceparent, type Logger } from '@ticketing/telemetry';
import { raw, Router, type RequestHandler } from 'express';
import httpProxy from 'http-proxy';
import { Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { API_PREFIX, ROUTE_POLICY, type Upstream } from '../access/route-policy';
import type { RequireAccess } from '../access/access.middleware';

export interface ForwardingDeps {
  upstreams: Record<Exclude<Upstream, 'gateway'>, string>;
  requireAccess: RequireAccess;
  internalAuth: InternalAuth;
  /** The whole forwarded call, from the gateway's side: 504 after it. */
  timeoutMs: number;
  /** Largest request body forwarded (413 beyond). */
  bodyLimitBytes?: number;
  logger: Logger;
}

/** Our request bodies are small JSON documents; the services parse at most 16 KiB too. */
export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024;

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
 * Forwards admitted requests to the owning service with http-proxy. The body is read whole (at most
 * `bodyLimitBytes`, else 413) before the service is called, so a slow upload holds only the client's
 * own socket (which the server's request timeout bounds), never one of the pool to a service; each
 * forwarded call has `timeoutMs` in all (504 after it, 503 if the service is down), after which its
 * upstream socket is given up. The caller's identity goes along as the gateway's signed internal
 * credentials (never a client header).
 */
export function forwardingRoutes({ upstreams, requireAccess, internalAuth, timeoutMs, bodyLimitBytes = DEFAULT_BODY_LIMIT_BYTES, logger }: ForwardingDeps): Router {
  const router = Router();
  // Without an agent http-proxy sends `Connection: close`: a new TCP connection to the service for
  // every request, and the client's connection closed after every answer.
  const agent = new Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 10_000 });
  const proxy = httpProxy.createProxyServer({ agent, changeOrigin: false, xfwd: true });
  const inFlight = new WeakMap<IncomingMessage, (upstreamRequest: ClientRequest) => void>();
  // A request the gateway does not record is not instrumented, so nothing injects its trace
  // context: send it (unsampled), so the service's logs carry the same trace id.
  proxy.on('proxyReq', (proxyReq, req) => {
    const traceparent = unsampledTraceparent();
    if (traceparent) proxyReq.setHeader('traceparent', traceparent);
    inFlight.get(req)?.(proxyReq);
  });
  // The body is read here, whole and bounded, and handed to http-proxy as its `buffer` (what it sends
  // instead of the request stream, which is consumed by then).
  const readBody = raw({ type: () => true, limit: bodyLimitBytes, inflate: false });

  const forwardTo =
    (name: Exclude<Upstream, 'gateway'>): RequestHandler =>
    (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : undefined;
      if (body) {
        delete req.headers['transfer-encoding'];
        req.headers['content-length'] = String(body.length);
      }
      let upstreamRequest: ClientRequest | undefined;
      let timedOut = false;
      const fail = (problem: ProblemError) => sendProblem(res, problem);
      // One bound for the whole call (waiting for a socket, sending, the service's work, its answer
      // streaming back): an idle timeout alone lets a trickle of bytes hold the upstream socket.
      const deadline = setTimeout(() => {
        timedOut = true;
        upstreamRequest?.destroy(); // before an answer: the callback below answers 504
        // An answer under way cannot become a 504: the client sees its connection end.
        if (res.headersSent) res.destroy();
        else if (!upstreamRequest) fail(new ProblemError('UPSTREAM_TIMEOUT', `${name} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      inFlight.set(req, (proxyReq) => {
        upstreamRequest = proxyReq;
        if (timedOut) proxyReq.destroy();
      });
      res.once('close', () => {
        clearTimeout(deadline);
        inFlight.delete(req);
        // The client went away: the service's answer is not wanted any more.
        if (!res.writableFinished) upstreamRequest?.destroy();
      });
      proxy.web(req, res, { target: upstreams[name], buffer: body ? Readable.from([body]) : undefined }, (error) => {
        const code = (error as NodeJS.ErrnoException).code;
        logger.warn({ err: error, upstream: name, path: req.url, timedOut }, 'upstream call failed');
        fail(
          !timedOut && (code === 'ECONNREFUSED' || code === 'ENOTFOUND')
            ? new ProblemError('SERVICE_UNAVAILABLE', `${name} is not reachable; try again shortly`)
            : new ProblemError('UPSTREAM_TIMEOUT', `${name} did not answer within ${timeoutMs} ms`),
        );
      });
    };

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
    router[method](`${API_PREFIX}${policy.path}`, requireAccess(policy.access), readBody, signCaller(policy.access), forwardTo(policy.upstream));
  }
  return router;
}
