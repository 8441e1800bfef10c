import type { Express } from 'express';
import { createServer, type Server } from 'node:http';
import { BlockList, isIPv6, type AddressInfo, type Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE } from './middleware';
import { ProblemError } from './problem';

export interface RunningServer {
  server: Server;
  port: number;
  /** Stops accepting connections, lets requests in flight finish (up to `timeoutMs`), then closes the rest. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Bounds on what one client may hold of a public server (the gateway): a slow client is cut off
 * instead of keeping a socket for minutes.
 */
export interface ServerLimits {
  /** The request line and headers must arrive within this (from the connection or the request's first byte). */
  headersTimeoutMs: number;
  /** The whole request, headers and body, must arrive within this; the answer may take longer (event streams). */
  requestTimeoutMs: number;
  /** Open sockets per client address; a connection beyond it is closed at once (0 = no cap). */
  maxSocketsPerClient: number;
  /** Addresses or subnets (`10.0.0.0/8`) the cap does not apply to (a proxy or load balancer in front, local load generators). */
  uncappedClients?: readonly string[];
}

/**
 * How often Node looks for requests past their headers or request timeout (its default is 30 s, which
 * would let a slow client keep its socket that much longer than the bound).
 */
const TIMEOUT_CHECK_INTERVAL_MS = 500;

/** `::ffff:10.0.0.1` and `10.0.0.1` are one client. */
const clientAddress = (socket: Socket) => (socket.remoteAddress ?? '').replace(/^::ffff:/, '');

/**
 * A complete HTTP/1.1 answer written straight to the socket, for errors Node's parser raises before
 * (or while) a request reaches the app: the same problem+json body the app's errors have.
 */
function rawProblem(problem: ProblemError): string {
  const body = JSON.stringify(problem.toBody());
  return (
    `HTTP/1.1 ${problem.status} ${problem.toBody().title}\r\n` +
    `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

function problemForClientError(error: NodeJS.ErrnoException): ProblemError {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ProblemError('REQUEST_TIMEOUT', 'the request did not arrive in time; send it again, whole');
    case 'HPE_HEADER_OVERFLOW':
      return new ProblemError('HEADERS_TOO_LARGE', 'the request headers are too large');
    default:
      return new ProblemError('MALFORMED_REQUEST', 'the request is not valid HTTP/1.1');
  }
}

/** Caps the open sockets of each client address (a small counter: connections, not requests, are counted). */
/** Addresses and subnets (`a.b.c.d`, `a.b.c.d/n`, IPv6 alike) as a matcher, with Node's own BlockList. */
export function addressMatcher(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.replace(/^::ffff:/, '').split('/');
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return (address) => list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}

function capSocketsPerClient(server: Server, max: number, uncapped: (address: string) => boolean) {
  const open = new Map<string, number>();
  // Ahead of the HTTP server's own listener, so a refused socket is never parsed.
  server.prependListener('connection', (socket: Socket) => {
    const client = clientAddress(socket);
    if (uncapped(client)) return;
    const n = open.get(client) ?? 0;
    if (n >= max) {
      socket.destroy();
      return;
    }
    open.set(client, n + 1);
    socket.once('close', () => {
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
    });
  });
}

export function startServer(app: Express, { port, host, limits }: { port: number; host: string; limits?: ServerLimits }): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = limits
      ? createServer(
          { headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_INTERVAL_MS, limits.headersTimeoutMs) },
          app,
        )
      : createServer(app);
    server.keepAliveTimeout = 65_000; // longer than common proxies' idle timeout
    if (limits) {
      // What Node would answer (408, 431, 400), as problem+json. Only while nothing of an answer is out.
      server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
        const answering = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
        if (socket.writable && error.code !== 'ECONNRESET' && !answering?.headersSent) socket.write(rawProblem(problemForClientError(error)));
        socket.destroy(error);
      });
      if (limits.maxSocketsPerClient > 0) capSocketsPerClient(server, limits.maxSocketsPerClient, addressMatcher(limits.uncappedClients ?? []));
    }
    server.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        close: (timeoutMs = 10_000) =>
          new Promise<void>((done) => {
            const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
            force.unref();
            server.close(() => {
              clearTimeout(force);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}

/**
 * Runs `shutdown` once on SIGTERM or SIGINT (stop taking requests, finish in-flight work, flush,
 * disconnect), then exits; a second signal or the timeout forces the exit.
 */
export function onShutdownSignal(
  logger: { info(o: object, m: string): void; error(o: object, m: string): void },
  shutdown: () => Promise<void>,
  timeoutMs = 10_000,
): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs).unref();
    shutdown()
      .then(() => process.exit(0))
      .catch((error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
