import { topicFor } from '@ticketing/contracts';
import { encodeEvent } from '@ticketing/messaging';
import { createTestTopics, deleteTestTopics, testKafka, uniqueName, waitFor } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { call, createGatewayHarness, SESSION_SECRET, type GatewayHarness } from './gateway.harness';

type Entered = { userId: string; session: string; queueToken: string; position: number; ticket: number };

/** The ticket a queue token stands for (its `tkt` claim). */
const ticketOf = (queueToken: string) => JSON.parse(Buffer.from(queueToken.split('.')[1], 'base64url').toString('utf8')).tkt as number;

describe('gateway: waiting room, access policy and forwarding (real Redis, PostgreSQL, Kafka)', () => {
  let h: GatewayHarness;
  afterEach(() => h.cleanup());

  async function enter(url: string, fan?: { userId: string; session: string }, concertId = h.concertId): Promise<Entered> {
    const who = fan ?? (await h.fan());
    const res = await call(`${url}/queue/tokens`, { method: 'POST', session: who.session, body: { concertId } });
    expect(res.status).toBe(201);
    expect(res.body.concertId).toBe(concertId);
    const queueToken = res.body.queueToken as string;
    return { ...who, queueToken, position: res.body.position as number, ticket: ticketOf(queueToken) };
  }
  const status = (url: string, f: Entered) => call(`${url}/queue/status`, { session: f.session, queueToken: f.queueToken });

  it('gives 1,000 concurrent arrivals on two instances positions 1..1000 and admits them strictly in that order', async () => {
    h = await createGatewayHarness({ maxActive: 100 });
    const fans = await Promise.all(Array.from({ length: 1000 }, () => h.fan()));
    const entered = await Promise.all(fans.map((fan, i) => enter(i % 2 ? h.a.url : h.b.url, fan)));
    const positions = entered.map((e) => e.position).sort((x, y) => x - y);
    expect(positions).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));

    const byArrival = [...entered].sort((x, y) => x.position - y.position);
    for (let round = 0; round < 3; round++) {
      // Both instances tick at once: the script is atomic, so together they admit exactly one batch, and
      // each instance's snapshot comes out of the same step as its admission.
      await Promise.all([h.a.view.admit(), h.b.view.admit()]);
      const admitted = byArrival.slice(round * 100, (round + 1) * 100);
      const waiting = byArrival.slice((round + 1) * 100);
      const admittedStatus = await Promise.all(admitted.map((f) => status(h.a.url, f)));
      expect(admittedStatus.every((s) => s.body.status === 'ACTIVE')).toBe(true);
      const sample = await Promise.all(waiting.slice(0, 50).map((f) => status(h.b.url, f)));
      expect(sample.map((s) => s.body.position)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect((await h.a.waitingRoom.stats()).active).toBe(100);
      // They pay (or leave): the next hundred in arrival order get the slots on the next tick.
      await Promise.all(admitted.map((f) => h.a.waitingRoom.expireTicket(f.userId, f.ticket)));
    }
  });

  it('answers 404 SALE_NOT_FOUND for a concert without a sale, and neither keeps nor ticks a room for it', async () => {
    // One fan tries 51 entries here, more than the default entry limit (10 a minute) lets through.
    h = await createGatewayHarness({ rateLimits: { RATE_LIMIT_QUEUE_ENTRIES: 100 } });
    const fan = await h.fan();
    const unknown = Array.from({ length: 50 }, () => randomUUID());
    for (const concertId of unknown) {
      const answer = await call(`${h.a.url}/queue/tokens`, { method: 'POST', session: fan.session, body: { concertId } });
      expect({ status: answer.status, code: answer.body.code }).toEqual({ status: 404, code: 'SALE_NOT_FOUND' });
    }
    const bad = await call(`${h.a.url}/queue/tokens`, { method: 'POST', session: fan.session, body: { concertId: 'not-a-uuid' } });
    expect({ status: bad.status, code: bad.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    // Only the sale's room is kept and ticked.
    expect((await h.a.rooms.all()).map((r) => r.concertId)).toEqual([h.concertId]);
  });

  it('gives the same user the same place again, on either instance', async () => {
    h = await createGatewayHarness();
    await enter(h.a.url);
    const fan = await h.fan();
    const first = await enter(h.a.url, fan);
    const again = await enter(h.b.url, fan);
    expect(again.position).toBe(first.position);
    expect(again.position).toBe(2);
    expect((await status(h.a.url, first)).body).toMatchObject({ status: 'WAITING', position: 2 });
  });

  it('refuses every missing, malformed, forged, expired or foreign credential with 401 problem+json', async () => {
    h = await createGatewayHarness({ maxActive: 1 });
    const owner = await enter(h.a.url);
    const other = await h.fan();
    const seats = `${h.a.url}/schedules/${randomUUID()}/seats`;
    const foreignKey = new TextEncoder().encode('someone-elses-secret-0123456789abcdefgh');
    const forgedSession = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'session+jwt' }).setSubject(owner.userId).setIssuer('queue-gateway').setAudience('ticketing-api').setJti('x').setIssuedAt().setExpirationTime('1h').sign(foreignKey);
    const expiredSession = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'session+jwt' })
      .setSubject(owner.userId)
      .setIssuer('queue-gateway')
      .setAudience('ticketing-api')
      .setJti('y')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(SESSION_SECRET));

    const cases: [string, Parameters<typeof call>[1], string][] = [
      ['no Authorization', {}, 'UNAUTHENTICATED'],
      ['a malformed Authorization', { headers: { authorization: 'Basic abc' } }, 'SESSION_TOKEN_INVALID'],
      ['a forged session', { session: forgedSession, queueToken: owner.queueToken }, 'SESSION_TOKEN_INVALID'],
      ['an expired session', { session: expiredSession, queueToken: owner.queueToken }, 'SESSION_EXPIRED'],
      ['no queue token', { session: owner.session }, 'QUEUE_TOKEN_MISSING'],
      ['a garbage queue token', { session: owner.session, queueToken: 'a.b.c' }, 'QUEUE_TOKEN_INVALID'],
      ['a session token as queue token', { session: owner.session, queueToken: owner.session }, 'QUEUE_TOKEN_INVALID'],
      ["another user's queue token", { session: other.session, queueToken: owner.queueToken }, 'QUEUE_TOKEN_INVALID'],
    ];
    for (const [label, init, code] of cases) {
      const res = await call(seats, init);
      expect({ label, status: res.status, code: res.body.code }).toEqual({ label, status: 401, code });
      expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
    }
    // A queue token whose place was given up is expired everywhere, and the status route says so.
    expect((await call(`${h.a.url}/queue/tokens/me`, { method: 'DELETE', session: owner.session, queueToken: owner.queueToken })).status).toBe(204);
    const left = await call(seats, { session: owner.session, queueToken: owner.queueToken });
    expect([left.status, left.body.code]).toEqual([401, 'QUEUE_TOKEN_EXPIRED']);
    expect((await status(h.a.url, owner)).body).toMatchObject({ status: 'EXPIRED', position: null });
    // Lining up again gives a new place at the back.
    const back = await enter(h.a.url);
    const again = await enter(h.b.url, owner);
    // Positions shown at entry are the snapshot's bound (at or above the truth); once both instances
    // have a snapshot taken after the arrivals, they are exact again.
    await h.refresh();
    const [backNow, againNow] = [(await status(h.b.url, back)).body.position as number, (await status(h.a.url, again)).body.position as number];
    expect([backNow, againNow]).toEqual([1, 2]);
    expect(again.position).toBeGreaterThanOrEqual(againNow);
  });

  it('answers a waiting fan on an active-only route with 403 NOT_ADMITTED, position and ETA, and lets the admitted through', async () => {
    h = await createGatewayHarness({ maxActive: 1 });
    const first = await enter(h.a.url);
    const second = await enter(h.b.url);
    const seats = `${h.a.url}/schedules/${randomUUID()}/seats`;
    const refused = await call(seats, { session: first.session, queueToken: first.queueToken });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'NOT_ADMITTED', position: 1, etaSeconds: expect.any(Number) });

    await h.b.waitingRoom.admit();
    const forwarded = await call(seats, { session: first.session, queueToken: first.queueToken, headers: { 'x-user-id': second.userId } });
    expect(forwarded.status).toBe(200);
    expect(forwarded.body).toMatchObject({ caller: { userId: first.userId, access: 'active' }, clientUserIdHeader: null });
    const stillWaiting = await call(seats, { session: second.session, queueToken: second.queueToken });
    expect(stillWaiting.body).toMatchObject({ code: 'NOT_ADMITTED', position: 1 });
  });

  it('forwards with the verified user id only, streams the body, and answers 504/503 for a silent or absent service', async () => {
    h = await createGatewayHarness();
    const fan = await h.fan();
    const forged = await call(`${h.a.url}/wallet/charges`, {
      method: 'POST',
      session: fan.session,
      headers: { 'x-internal-auth': 'client-made-this-up', 'x-user-id': randomUUID(), 'idempotency-key': 'k1' },
      body: { amount: 5000, userId: randomUUID() },
    });
    expect(forged.status).toBe(200);
    expect(forged.body).toMatchObject({ caller: { userId: fan.userId, access: 'user' }, method: 'POST', path: '/api/v1/wallet/charges', body: { amount: 5000 }, clientUserIdHeader: null });

    const silent = await call(`${h.a.url}/payments/${randomUUID()}`, { session: fan.session });
    expect([silent.status, silent.body.code]).toEqual([504, 'UPSTREAM_TIMEOUT']);
    const down = await h.startGateway({ walletUrl: 'http://127.0.0.1:9' });
    const unreachable = await call(`${down.url}/wallet`, { session: fan.session });
    expect([unreachable.status, unreachable.body.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    const admin = await call(`${h.a.url}/admin/concerts`, { method: 'POST', headers: { 'x-admin-key': 'wrong' }, body: {} });
    expect([admin.status, admin.body.code]).toEqual([403, 'ADMIN_REQUIRED']);
    const adminOk = await call(`${h.a.url}/admin/concerts`, { method: 'POST', headers: { 'x-admin-key': 'test-admin-key' }, body: { title: 'x' } });
    expect(adminOk.body).toMatchObject({ caller: { access: 'admin' } });
  });

  it('pushes status changes over server-sent events', async () => {
    h = await createGatewayHarness({ maxActive: 1 });
    const first = await enter(h.a.url);
    const second = await enter(h.a.url);
    const res = await fetch(`${h.b.url}/queue/events`, { headers: { authorization: `Bearer ${second.session}`, 'x-queue-token': second.queueToken } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const events: Record<string, unknown>[] = [];
    let buffer = '';
    const next = async (): Promise<Record<string, unknown>> => {
      while (!buffer.includes('\n\n')) buffer += new TextDecoder().decode((await reader.read()).value);
      const [frame, rest] = [buffer.slice(0, buffer.indexOf('\n\n')), buffer.slice(buffer.indexOf('\n\n') + 2)];
      buffer = rest;
      const data = frame.split('\n').find((l) => l.startsWith('data: '));
      if (data) events.push(JSON.parse(data.slice(6)));
      return data ? events[events.length - 1] : next();
    };
    expect(await next()).toMatchObject({ status: 'WAITING', position: 2 });
    await h.a.waitingRoom.admit(); // first in
    expect(await next()).toMatchObject({ status: 'WAITING', position: 1 });
    await h.a.waitingRoom.expireTicket(first.userId, first.ticket);
    await h.a.waitingRoom.admit();
    expect(await next()).toMatchObject({ status: 'ACTIVE', position: null });
    await reader.cancel();
  });

  it('frees the slot on payment.completed from Kafka, so the next fan is admitted on the next tick', async () => {
    h = await createGatewayHarness({ maxActive: 1 });
    const buyer = await enter(h.a.url);
    const next = await enter(h.b.url);
    await h.a.view.admit();
    expect((await status(h.a.url, buyer)).body.status).toBe('ACTIVE');

    const prefix = `${uniqueName('gw')}.`;
    await createTestTopics(prefix);
    // A third gateway as main.ts runs it, with the runtime's consumer of sale and payment events.
    const consuming = await h.startGateway({ topicPrefix: prefix });
    const processed = async () => Number((await h.db('processed_messages').where({ consumer: consuming.groupId }).count({ n: '*' }).first())?.n);
    const producer = testKafka().producer();
    try {
      await producer.connect();
      const event = encodeEvent({
        type: 'payment.completed',
        key: randomUUID(),
        payload: { paymentId: randomUUID(), userId: buyer.userId, reservationId: randomUUID(), amount: 50_000, concertId: h.concertId, queueTicket: buyer.ticket },
      });
      // A payment of the same fan in another sale's room frees nothing here.
      const elsewhere = encodeEvent({
        type: 'payment.completed',
        key: randomUUID(),
        payload: { paymentId: randomUUID(), userId: buyer.userId, reservationId: randomUUID(), amount: 50_000, concertId: randomUUID(), queueTicket: buyer.ticket },
      });
      await producer.send({ topic: topicFor('payment.completed', prefix), messages: [{ key: elsewhere.id, value: JSON.stringify(elsewhere) }] });
      await waitFor(async () => (await processed()) === 1, { label: 'the other sale’s event consumed' });
      expect((await status(h.a.url, buyer)).body.status).toBe('ACTIVE');
      // Delivered twice: the second copy must change nothing.
      for (let i = 0; i < 2; i++) await producer.send({ topic: topicFor('payment.completed', prefix), messages: [{ key: event.id, value: JSON.stringify(event) }] });
      await waitFor(async () => (await status(h.a.url, buyer)).body.status === 'EXPIRED', { label: 'the buyer expired' });
      await h.b.view.admit();
      expect((await status(h.b.url, next)).body.status).toBe('ACTIVE');
      expect(await processed()).toBe(2);
    } finally {
      await producer.disconnect();
      await consuming.stop();
      await deleteTestTopics(prefix);
    }
  });
});

