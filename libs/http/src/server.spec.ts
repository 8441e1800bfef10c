import { createLogger, createMetricsRegistry } from '@ticketing/telemetry';
import { delay, slowClient } from '@ticketing/testing';
import { request as httpRequest } from 'node:http';
import { addressMatcher, createHttpApp, startServer, type RunningServer, type ServerLimits } from './index';

const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 1_500;
/** Node looks for requests past their bound every 500 ms; a cut comes at most that much after it, plus a loaded machine's lag. */
const CUT_SLACK_MS = 1_500;

async function start(limits: Partial<ServerLimits> = {}) {
  let bodiesParsed = 0;
  const { app } = createHttpApp({ logger: createLogger('test', 'silent'), metrics: createMetricsRegistry('test'), readiness: {} }, (a) => {
    a.post('/things', (req, res) => {
      bodiesParsed++;
      res.status(201).json(req.body);
    });
    a.get('/hello', (_req, res) => res.json({ hello: 'world' }));
    // An answer that lasts longer than the request timeout, as an event stream does.
    a.get('/stream', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`tick ${++n}\n`);
        if (n === 8) {
          clearInterval(timer);
          res.end();
        }
      }, 400);
      res.on('close', () => clearInterval(timer));
    });
  });
  const server = await startServer(app, {
    port: 0,
    host: '127.0.0.1',
    limits: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS, maxSocketsPerClient: 0, ...limits },
  });
  return { server, bodiesParsed: () => bodiesParsed };
}

/** GET `path` from `localAddress`: the status, or 'closed' when the server shut the connection without an answer. */
function get(port: number, path: string, localAddress = '127.0.0.1'): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const req = httpRequest({ port, host: '127.0.0.1', path, localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', () => resolve('closed'));
    req.end();
  });
}

const post = 'POST /things HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n';

describe('startServer limits: slow clients are cut off at the bound, with problem+json', () => {
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.close(100);
    running = undefined;
  });

  it('headers trickled a byte every 200 ms: 408 REQUEST_TIMEOUT no sooner than the headers timeout, and soon after it', async () => {
    const { server } = await start();
    running = server;
    const clients = Array.from({ length: 5 }, () => slowClient({ port: server.port, head: 'GET /hello HTTP/1.1\r\nHost: test\r\nX-Padding: ' + 'a'.repeat(100) + '\r\n\r\n', trickle: 'head', everyMs: 200 }));
    for (const end of await Promise.all(clients.map((c) => c.ended))) {
      expect(end).toMatchObject({ status: 408, headers: { 'content-type': 'application/problem+json' }, body: { status: 408, code: 'REQUEST_TIMEOUT' } });
      expect(end.closedAfterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 5);
      expect(end.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + CUT_SLACK_MS);
    }
  });

  it('a body trickled a byte every 200 ms: 408 no sooner than the request timeout, and the handler never ran', async () => {
    const { server, bodiesParsed } = await start();
    running = server;
    const clients = Array.from({ length: 5 }, () => slowClient({ port: server.port, head: post, body: JSON.stringify({ name: 'x'.repeat(29) }), trickle: 'body', everyMs: 200 }));
    for (const end of await Promise.all(clients.map((c) => c.ended))) {
      expect(end).toMatchObject({ status: 408, body: { code: 'REQUEST_TIMEOUT' } });
      expect(end.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 5);
      expect(end.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + CUT_SLACK_MS);
      expect(end.bytesSent).toBeLessThan(post.length + 40); // cut before the body was whole
    }
    expect(bodiesParsed()).toBe(0);
  });

  it('a request that arrived in time may take longer to answer: a stream runs past both timeouts', async () => {
    const { server } = await start();
    running = server;
    const text = await (await fetch(`http://127.0.0.1:${server.port}/stream`)).text();
    expect(text.trim().split('\n')).toHaveLength(8); // 3.2 s, over twice the request timeout
  });

  it('caps open sockets per client address: the next one is closed at once, other addresses are served, a freed slot is usable', async () => {
    const { server } = await start({ maxSocketsPerClient: 3, headersTimeoutMs: 10_000, requestTimeoutMs: 10_000 });
    running = server;
    const held = Array.from({ length: 3 }, () => slowClient({ port: server.port, localAddress: '127.0.0.2', head: 'GET /hello HTTP/1.1\r\nHost: test\r\n\r\n', trickle: 'head', everyMs: 500 }));
    await delay(300);
    expect(held.every((c) => c.open())).toBe(true);
    expect(await get(server.port, '/hello', '127.0.0.2')).toBe('closed');
    expect(await get(server.port, '/hello', '127.0.0.3')).toBe(200);
    held[0].close();
    await held[0].ended;
    await delay(50);
    expect(await get(server.port, '/hello', '127.0.0.2')).toBe(200);
    held.forEach((c) => c.close());
  });

  it('leaves a whole subnet uncapped when told to (every loopback address, as local load generators use)', async () => {
    const { server } = await start({ maxSocketsPerClient: 1, uncappedClients: ['127.0.0.0/8', '::1'], headersTimeoutMs: 10_000, requestTimeoutMs: 10_000 });
    running = server;
    const held = slowClient({ port: server.port, localAddress: '127.0.0.9', head: 'GET /hello HTTP/1.1\r\nHost: test\r\n\r\n', trickle: 'head', everyMs: 500 });
    await delay(200);
    expect(await get(server.port, '/hello', '127.0.0.9')).toBe(200);
    held.close();
  });

  it('matches addresses and subnets, IPv4 and IPv6', () => {
    const uncapped = addressMatcher(['127.0.0.0/8', '::1', '10.1.2.3', 'fd00::/8']);
    expect(['127.0.0.1', '127.9.9.9', '::1', '10.1.2.3', '::ffff:127.0.0.5', 'fd12::1'].map(uncapped)).toEqual([true, true, true, true, true, true]);
    expect(['128.0.0.1', '10.1.2.4', '::2', 'fe80::1'].map(uncapped)).toEqual([false, false, false, false]);
  });

  it('does not cap the addresses it is told to leave alone (a proxy in front)', async () => {
    const { server } = await start({ maxSocketsPerClient: 1, uncappedClients: ['127.0.0.4'], headersTimeoutMs: 10_000, requestTimeoutMs: 10_000 });
    running = server;
    const held = slowClient({ port: server.port, localAddress: '127.0.0.4', head: 'GET /hello HTTP/1.1\r\nHost: test\r\n\r\n', trickle: 'head', everyMs: 500 });
    await delay(200);
    expect(await get(server.port, '/hello', '127.0.0.4')).toBe(200);
    held.close();
  });
});
