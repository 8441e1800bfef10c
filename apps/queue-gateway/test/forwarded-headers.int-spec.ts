import { randomUUID } from 'node:crypto';
import { call, createGatewayHarness, type GatewayHarness } from './gateway.harness';

/**
 * What a service behind the gateway receives: the gateway's own signed credentials and what the
 * service needs (Idempotency-Key, content type), never the client's session, queue token, admin key
 * or any identity header the client made up. The upstream of the harness echoes the headers it got.
 */
describe('gateway forwarding: no client credentials reach a service (real Redis, PostgreSQL)', () => {
  let h: GatewayHarness;
  afterAll(() => h?.cleanup());

  it('strips Authorization, X-Queue-Token, X-Admin-Key, X-User-Id, cookies and a client-sent internal credential on every access level', async () => {
    h = await createGatewayHarness({ maxActive: 5 });
    const fan = await h.fan();
    const entered = await call(`${h.a.url}/queue/tokens`, { method: 'POST', session: fan.session, body: { concertId: h.concertId } });
    expect(entered.status).toBe(201);
    const queueToken = entered.body.queueToken as string;
    await h.a.waitingRoom.admit();

    const forgedInternal = `forged-${randomUUID()}`;
    const otherUser = randomUUID();
    const clientSent = {
      authorization: `Bearer ${fan.session}`,
      'x-queue-token': queueToken,
      'x-admin-key': 'test-admin-key',
      'x-user-id': otherUser,
      'x-internal-auth': forgedInternal,
      cookie: `session=${fan.session}`,
      'proxy-authorization': 'Basic c2VjcmV0OnNlY3JldA==',
    };
    const secrets = [fan.session, queueToken, 'test-admin-key', otherUser, forgedInternal, 'c2VjcmV0OnNlY3JldA=='];

    const routes = [
      { method: 'GET', path: '/concerts', access: 'public' },
      { method: 'GET', path: '/wallet', access: 'user' },
      { method: 'POST', path: '/wallet/charges', access: 'user', body: { amount: 5000 } },
      { method: 'GET', path: `/schedules/${randomUUID()}/seats`, access: 'active' },
      { method: 'POST', path: '/admin/concerts', access: 'admin', body: { title: 'x' } },
    ];
    for (const route of routes) {
      const answer = await call(`${h.a.url}${route.path}`, { method: route.method, headers: { ...clientSent, 'idempotency-key': 'key-1' }, body: route.body });
      expect({ route: route.path, status: answer.status }).toEqual({ route: route.path, status: 200 });
      const seen = answer.body.headers as Record<string, string>;
      const leaked = ['authorization', 'proxy-authorization', 'cookie', 'x-queue-token', 'x-admin-key', 'x-user-id'].filter((name) => name in seen);
      const leakedValues = Object.entries(seen).filter(([, value]) => secrets.some((secret) => String(value).includes(secret)));
      expect({ route: route.path, leaked, leakedValues }).toEqual({ route: route.path, leaked: [], leakedValues: [] });
      // The gateway's own statement replaced the client's, and says who the gateway verified.
      expect(seen['x-internal-auth']).toMatch(/^eyJ/);
      // Admitted calls also say which sale admitted the fan, and under which ticket.
      const ticket = (JSON.parse(Buffer.from(queueToken.split('.')[1], 'base64url').toString('utf8')) as { tkt: number }).tkt;
      expect(answer.body.caller).toEqual(
        route.access === 'public' || route.access === 'admin'
          ? { access: route.access }
          : route.access === 'active'
            ? { userId: fan.userId, access: route.access, sale: { concertId: h.concertId, ticket } }
            : { userId: fan.userId, access: route.access },
      );
      // What the service needs still arrives.
      expect(seen['idempotency-key']).toBe('key-1');
      if (route.body) expect(answer.body.body).toEqual(route.body);
    }
  });
});
