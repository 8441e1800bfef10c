import { startPrivateRedis, type PrivateRedis } from '@ticketing/testing';
import { createGatewayHarness, type GatewayHarness } from './gateway.harness';

/**
 * The Redis-restart drill on a gateway whose waiting room lives on a redis-server of this test's own,
 * persisted as the stack and compose run it (append-only file, fsync every second). Fans are
 * admitted and waiting; the server is killed (SIGKILL) and started again on the same folder. While
 * it is down the gateway answers 503 SERVICE_UNAVAILABLE with Retry-After (never 500) on status
 * polls, entry and forwarded routes; afterwards admitted fans are still admitted, waiting fans keep
 * their places and new tickets continue the sequence.
 */

jest.setTimeout(60_000);

interface Status {
  status: 'WAITING' | 'ACTIVE' | 'EXPIRED';
  position: number | null;
}
interface Fan {
  userId: string;
  session: string;
  queueToken: string;
  ticket: number;
}

/** A queue token's ticket, read from its payload (the `tkt` claim). */
const ticketOf = (queueToken: string) => (JSON.parse(Buffer.from(queueToken.split('.')[1]!, 'base64url').toString()) as { tkt: number }).tkt;

describe('gateway across a Redis restart (a private, persisted redis-server)', () => {
  let redis: PrivateRedis;
  let h: GatewayHarness;

  beforeAll(async () => {
    redis = await startPrivateRedis({ persistent: true });
    h = await createGatewayHarness({ maxActive: 2, redisUrl: redis.url });
  });
  afterAll(async () => {
    await redis?.start().catch(() => undefined); // up again if the test failed while it was down
    await h?.cleanup();
    await redis?.stop();
  });

  async function request(url: string, { method = 'GET', fan, session }: { method?: string; fan?: Fan; session?: string } = {}) {
    const headers: Record<string, string> = {};
    const bearer = fan?.session ?? session;
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    if (fan) headers['x-queue-token'] = fan.queueToken;
    if (method === 'POST') headers['content-type'] = 'application/json';
    const body = url.endsWith('/queue/tokens') ? { concertId: h.concertId } : {};
    const res = await fetch(url, { method, headers, body: method === 'POST' ? JSON.stringify(body) : undefined });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', retryAfter: res.headers.get('retry-after'), body: text ? JSON.parse(text) : {} };
  }

  /** Enters as a client does: a 503 with Retry-After is asked again (bounded), anything else but 201 fails. */
  async function enter(url: string): Promise<Fan> {
    const { userId, session } = await h.fan();
    let answer = await request(`${url}/queue/tokens`, { method: 'POST', session });
    for (let i = 0; i < 10 && answer.status === 503 && answer.retryAfter; i++) {
      await new Promise((r) => setTimeout(r, 500));
      answer = await request(`${url}/queue/tokens`, { method: 'POST', session });
    }
    expect({ status: answer.status, code: answer.body.code }).toEqual({ status: 201, code: undefined });
    return { userId, session, queueToken: answer.body.queueToken, ticket: ticketOf(answer.body.queueToken) };
  }

  /** Where each fan stands, asked of a gateway that has never seen them (so Redis itself answers). */
  async function standings(fans: Fan[]): Promise<Status[]> {
    const fresh = await h.startGateway();
    await fresh.view.refresh();
    return Promise.all(
      fans.map(async (fan) => {
        const answer = await request(`${fresh.url}/queue/status`, { fan });
        expect(answer.status).toBe(200);
        return { status: answer.body.status, position: answer.body.position };
      }),
    );
  }

  it('keeps admitted and waiting fans and the ticket sequence; answers 503 with Retry-After while Redis is down', async () => {
    const fans: Fan[] = [];
    for (let i = 0; i < 5; i++) fans.push(await enter(h.a.url));
    await h.a.view.admit(); // maxActive 2: the first two are admitted, three wait
    const before = await standings(fans);
    expect(before).toEqual([
      { status: 'ACTIVE', position: null },
      { status: 'ACTIVE', position: null },
      { status: 'WAITING', position: 1 },
      { status: 'WAITING', position: 2 },
      { status: 'WAITING', position: 3 },
    ]);
    const lastTicket = Math.max(...fans.map((f) => f.ticket));

    // A gateway that has seen none of these fans, so it must ask Redis: a status poll, an entry, a
    // forwarded route's admission check, a leave.
    const stranger = await h.startGateway();
    const { session } = await h.fan();
    await redis.kill();
    const whileDown = [
      await request(`${stranger.url}/queue/status`, { fan: fans[2] }),
      await request(`${stranger.url}/queue/tokens`, { method: 'POST', session }),
      await request(`${stranger.url}/reservations`, { method: 'POST', fan: fans[0] }),
      await request(`${stranger.url}/queue/tokens/me`, { method: 'DELETE', fan: fans[4] }),
    ];
    for (const answer of whileDown) {
      expect({ status: answer.status, code: answer.body.code, retryAfter: answer.retryAfter }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE', retryAfter: '2' });
      expect(answer.contentType).toMatch(/^application\/problem\+json/);
    }

    await redis.start();
    expect(await standings(fans)).toEqual(before);
    // The sequence goes on from where it was: no ticket is handed out twice.
    const newcomer = await enter(h.a.url);
    expect(newcomer.ticket).toBeGreaterThan(lastTicket);
    // And the line still moves in order: a slot freed goes to the first waiting fan.
    expect((await request(`${h.a.url}/queue/tokens/me`, { method: 'DELETE', fan: fans[0] })).status).toBe(204);
    await h.a.view.admit();
    const after = await standings([...fans, newcomer]);
    expect(after.map((s) => s.status)).toEqual(['EXPIRED', 'ACTIVE', 'ACTIVE', 'WAITING', 'WAITING', 'WAITING']);
    expect(after.slice(3).map((s) => s.position)).toEqual([1, 2, 3]);
  });
});
