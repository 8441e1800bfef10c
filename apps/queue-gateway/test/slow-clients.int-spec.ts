import { startServer, type RunningServer } from '@ticketing/http';
import { delay, slowClient, type SlowClient } from '@ticketing/testing';
import express from 'express';
import { request as httpRequest } from 'node:http';
import { createGatewayHarness, type GatewayHarness } from './gateway.harness';

const HEADERS_TIMEOUT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 3_000;
const UPSTREAM_TIMEOUT_MS = 1_500;
const BODY_LIMIT_BYTES = 1_024;
const SOCKETS_PER_CLIENT = 4;
/** A cut comes at most Node's 500 ms check interval after its bound, plus a loaded machine's lag. */
const CUT_SLACK_MS = 2_000;

/**
 * A service that counts what reaches it: requests in flight (and the most at once), and the ones a
 * slow client sent (marked `x-test-slow`). It answers at once, except two routes that stall.
 */
async function countingUpstream() {
  const seen = { inFlight: 0, peakInFlight: 0, total: 0, slow: 0, trickleClosedAfterMs: [] as number[] };
  const app = express();
  app.use((req, res, next) => {
    seen.total++;
    if (req.headers['x-test-slow']) seen.slow++;
    seen.peakInFlight = Math.max(seen.peakInFlight, ++seen.inFlight);
    res.on('close', () => seen.inFlight--);
    next();
  });
  // Answers at once, then a byte every 100 ms for ever: only a bound on the whole call stops it.
  app.get('/api/v1/wallet/transactions', (req, res) => {
    const startedAt = Date.now();
    res.writeHead(200, { 'content-type': 'application/json' });
    const timer = setInterval(() => res.write(' '), 100);
    res.on('close', () => {
      clearInterval(timer);
      seen.trickleClosedAfterMs.push(Date.now() - startedAt);
    });
  });
  app.get('/api/v1/payments/:id', () => undefined); // never answers
  app.use(express.json(), (req, res) => res.json({ path: req.path, body: req.body ?? null }));
  const server: RunningServer = await startServer(app, { port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${server.port}`, seen, server };
}

/** A POST whose body goes out in `chunks` (no Content-Length: chunked), answered with its status and body. */
function chunkedPost(port: number, path: string, headers: Record<string, string>, chunks: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ port, host: '127.0.0.1', path, method: 'POST', headers: { ...headers, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('gateway: slow clients are cut off at their bound and hold no service socket (real Redis, PostgreSQL)', () => {
  let h: GatewayHarness;
  let upstream: Awaited<ReturnType<typeof countingUpstream>>;
  let gateway: Awaited<ReturnType<GatewayHarness['startGateway']>>;
  let session: string;

  beforeAll(async () => {
    h = await createGatewayHarness({
      upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS,
      bodyLimitBytes: BODY_LIMIT_BYTES,
      // The fast clients all come from 127.0.0.1; the slow ones each from an address of its own (as a
      // flood from many machines would), so the per-address cap does not hide what the timeouts do.
      serverLimits: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS, maxSocketsPerClient: SOCKETS_PER_CLIENT, uncappedClients: ['127.0.0.1'] },
    });
    upstream = await countingUpstream();
    gateway = await h.startGateway({ serviceUrl: upstream.url });
    session = (await h.fan()).session;
  });
  afterAll(async () => {
    await h?.cleanup();
    await upstream?.server.close(100);
  });

  it('70 clients trickling a byte a second: others are served meanwhile, no slow request reaches a service, each slow one gets 408 at its bound', async () => {
    const body = JSON.stringify({ amount: 5000, note: 'x'.repeat(40) });
    const slowUpload = (i: number) =>
      slowClient({
        port: gateway.port,
        localAddress: `127.0.1.${i + 1}`,
        head: `POST /api/v1/wallet/charges HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${session}\r\nIdempotency-Key: slow-${i}\r\nX-Test-Slow: 1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        body,
        trickle: 'body',
        everyMs: 1_000,
      });
    // Sign-up needs no account: the gateway's own route, the same bound.
    const slowSignUp = (i: number) =>
      slowClient({
        port: gateway.port,
        localAddress: `127.0.2.${i + 1}`,
        head: `POST /api/v1/users HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        body,
        trickle: 'body',
        everyMs: 1_000,
      });
    const slowHeaders = (i: number) =>
      slowClient({ port: gateway.port, localAddress: `127.0.3.${i + 1}`, head: `GET /api/v1/concerts HTTP/1.1\r\nHost: gw\r\nX-Test-Slow: 1\r\n\r\n`, trickle: 'head', everyMs: 1_000 });
    const uploads = Array.from({ length: 50 }, (_, i) => slowUpload(i));
    const signUps = Array.from({ length: 10 }, (_, i) => slowSignUp(i));
    const headers = Array.from({ length: 10 }, (_, i) => slowHeaders(i));
    const slow: SlowClient[] = [...uploads, ...signUps, ...headers];
    await delay(800);

    // Meanwhile, everyone else: 40 requests at once, forwarded with and without a body.
    const fast = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const res =
          i % 2
            ? await fetch(`${gateway.url}/concerts`)
            : await fetch(`${gateway.url}/wallet/charges`, {
                method: 'POST',
                headers: { authorization: `Bearer ${session}`, 'idempotency-key': `fast-${i}`, 'content-type': 'application/json' },
                body: JSON.stringify({ amount: 100 + i }),
              });
        return { status: res.status, body: (await res.json()) as Record<string, unknown>, post: i % 2 === 0, i };
      }),
    );
    const slowOpenWhenServed = slow.filter((c) => c.open()).length;
    expect(fast.filter((f) => f.status !== 200)).toEqual([]);
    for (const f of fast.filter((x) => x.post)) expect(f.body).toEqual({ path: '/api/v1/wallet/charges', body: { amount: 100 + f.i } });
    // They were answered while every slow client still held its socket to the gateway...
    expect(slowOpenWhenServed).toBe(slow.length);
    // ...and not one slow request has reached the service: the services' sockets served only the fast ones.
    expect(upstream.seen.slow).toBe(0);
    expect(upstream.seen.peakInFlight).toBeLessThanOrEqual(fast.length);

    const [uploadEnds, signUpEnds, headerEnds] = await Promise.all([uploads, signUps, headers].map((group) => Promise.all(group.map((c) => c.ended))));
    for (const [ends, bound] of [
      [uploadEnds, REQUEST_TIMEOUT_MS],
      [signUpEnds, REQUEST_TIMEOUT_MS],
      [headerEnds, HEADERS_TIMEOUT_MS],
    ] as const) {
      for (const end of ends) {
        expect(end).toMatchObject({ status: 408, headers: { 'content-type': 'application/problem+json' }, body: { status: 408, code: 'REQUEST_TIMEOUT' } });
        // Cut at the bound: not before it, and not long after.
        expect(end.closedAfterMs).toBeGreaterThanOrEqual(bound - 5);
        expect(end.closedAfterMs).toBeLessThan(bound + CUT_SLACK_MS);
      }
    }
    expect(upstream.seen.slow).toBe(0);
  });

  it('a body over the limit is 413 PAYLOAD_TOO_LARGE, announced or chunked, and the service never sees it', async () => {
    const before = upstream.seen.total;
    const headers = { authorization: `Bearer ${session}`, 'idempotency-key': 'big' };
    const announced = await fetch(`${gateway.url}/wallet/charges`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 1, note: 'x'.repeat(BODY_LIMIT_BYTES) }),
    });
    expect(announced.status).toBe(413);
    expect(announced.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await announced.json()).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const chunked = await chunkedPost(gateway.port, '/api/v1/wallet/charges', headers, ['{"amount":1,"note":"', 'x'.repeat(600), 'x'.repeat(600), '"}']);
    expect(chunked).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE' } });
    // A chunked body within the limit is forwarded whole.
    const small = await chunkedPost(gateway.port, '/api/v1/wallet/charges', headers, ['{"amount":', '7}']);
    expect(small).toEqual({ status: 200, body: { path: '/api/v1/wallet/charges', body: { amount: 7 } } });
    expect(upstream.seen.total - before).toBe(1);
  });

  it('bounds each forwarded call as a whole: a silent service is 504 at the bound, a trickling answer is cut there', async () => {
    const startedAt = Date.now();
    const silent = await fetch(`${gateway.url}/payments/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, { headers: { authorization: `Bearer ${session}` } });
    const silentAfterMs = Date.now() - startedAt;
    expect(silent.status).toBe(504);
    expect(await silent.json()).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    expect(silentAfterMs).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 5);
    expect(silentAfterMs).toBeLessThan(UPSTREAM_TIMEOUT_MS + CUT_SLACK_MS);

    // The answer had begun (200), so the gateway can only end the connection; an idle timeout never would.
    const askedAt = Date.now();
    const trickling = await fetch(`${gateway.url}/wallet/transactions`, { headers: { authorization: `Bearer ${session}` } });
    expect(trickling.status).toBe(200);
    await expect(trickling.text()).rejects.toThrow();
    const cutAfterMs = Date.now() - askedAt;
    expect(cutAfterMs).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 5);
    expect(cutAfterMs).toBeLessThan(UPSTREAM_TIMEOUT_MS + CUT_SLACK_MS);
    // The gateway gave up its socket to the service there and then (the service saw its answer closed).
    await delay(100);
    expect(upstream.seen.trickleClosedAfterMs).toHaveLength(1);
    expect(upstream.seen.trickleClosedAfterMs[0]).toBeLessThan(UPSTREAM_TIMEOUT_MS + CUT_SLACK_MS);
    expect(upstream.seen.inFlight).toBe(0);
  });

  it(`caps one address at ${SOCKETS_PER_CLIENT} open sockets: the rest are closed at once, other addresses unaffected`, async () => {
    const fromOne = Array.from({ length: SOCKETS_PER_CLIENT + 6 }, () =>
      slowClient({ port: gateway.port, localAddress: '127.0.4.1', head: 'GET /api/v1/concerts HTTP/1.1\r\nHost: gw\r\n\r\n', trickle: 'head', everyMs: 300 }),
    );
    await delay(500);
    expect(fromOne.filter((c) => c.open())).toHaveLength(SOCKETS_PER_CLIENT);
    const refused = await Promise.all(fromOne.filter((c) => !c.open()).map((c) => c.ended));
    expect(refused.every((end) => end.refused && end.closedAfterMs < HEADERS_TIMEOUT_MS)).toBe(true);
    expect((await fetch(`${gateway.url}/concerts`)).status).toBe(200);
    fromOne.forEach((c) => c.close());
  });
});
