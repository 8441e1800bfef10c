import { waitFor } from '@ticketing/testing';
import { call, configureSale, expectStatus, lineUp, queueStatus, signUpAndLogIn, waitUntilActive, type Fan, type QueueStatus } from './fan-client';
import { startSystem, type RunningSystem } from './system.harness';

/**
 * Issue 10 as a new user tries it: an admin sets up two concerts' sales; fans who arrive early see the
 * opening time, get a place drawn at the opening, then move up at the configured rate; a fan admitted
 * to one concert's sale cannot touch the other's seats (403 WRONG_SALE from the service that owns them).
 */

jest.setTimeout(150_000);

describe('two sales, a fair opening and admission at the set rate (all services as processes)', () => {
  let system: RunningSystem | undefined;
  let api: string;
  let admin: Record<string, string>;

  beforeAll(async () => {
    system = await startSystem({ label: 'e2e_sales' });
    api = system.api;
    admin = { 'x-admin-key': system.adminKey };
  }, 100_000);
  afterAll(async () => {
    await system?.stop();
  });

  async function concertWithDate(title: string): Promise<{ concertId: string; scheduleId: string }> {
    const concert = expectStatus(await call<{ concertId: string }>(`${api}/admin/concerts`, { method: 'POST', headers: admin, body: { title, artist: 'Two Rooms', venue: 'Hall' } }), 201, 'concert');
    const now = Date.now();
    const schedule = expectStatus(
      await call<{ scheduleId: string }>(`${api}/admin/concerts/${concert.body.concertId}/schedules`, {
        method: 'POST',
        headers: admin,
        body: { startsAt: new Date(now + 7 * 86_400_000).toISOString(), bookingOpensAt: new Date(now - 60_000).toISOString(), bookingClosesAt: new Date(now + 6 * 86_400_000).toISOString(), seatCount: 10, price: 50_000 },
      }),
      201,
      'schedule',
    );
    return { concertId: concert.body.concertId, scheduleId: schedule.body.scheduleId };
  }

  it('shows early fans the opening, draws their places at it, admits at the set rate, and keeps each admission to its own sale', async () => {
    const a = await concertWithDate('Room A Night');
    const b = await concertWithDate('Room B Night');
    const opensAt = new Date(Date.now() + 12_000);
    // A: a pre-queue until opensAt, then 1 fan a second. B: open now.
    await configureSale(api, system!.adminKey, a.concertId, { queueOpensAt: new Date(Date.now() - 1_000).toISOString(), saleOpensAt: opensAt.toISOString(), maxActive: 50, admitPerMinute: 60 });
    await configureSale(api, system!.adminKey, b.concertId, { maxActive: 50 });
    // The public part of each sale.
    const detail = expectStatus(await call<{ sale: { saleOpensAt: string; mode: string } }>(`${api}/concerts/${a.concertId}`), 200, 'concert A').body;
    expect(detail.sale).toMatchObject({ saleOpensAt: opensAt.toISOString(), mode: 'queue' });

    const fans: Fan[] = [];
    for (let i = 0; i < 8; i++) fans.push(await signUpAndLogIn(api, `Early${i}`));
    for (const fan of fans) {
      const entered = await lineUp(api, fan, a.concertId);
      expect(entered).toMatchObject({ status: 'PRE_QUEUE', concertId: a.concertId, opensAt: opensAt.toISOString(), position: null });
    }
    // Nobody is admitted before the opening; polling keeps the entries.
    const early = await queueStatus(api, fans[0]!);
    expect(early.body).toMatchObject({ status: 'PRE_QUEUE', opensAt: opensAt.toISOString() });
    const refusedEarly = await call(`${api}/schedules/${a.scheduleId}/seats`, { fan: fans[0] });
    expect(refusedEarly.status).toBe(403);
    expect(refusedEarly.body).toMatchObject({ code: 'NOT_ADMITTED', opensAt: opensAt.toISOString() });

    // After the opening every early fan has a place (1..8, each once) or is already in.
    await waitFor(async () => Date.now() > opensAt.getTime() + 200, { timeoutMs: 20_000, intervalMs: 200, label: 'the opening' });
    const openedAt = Date.now();
    const places = await Promise.all(fans.map(async (fan) => expectStatus(await queueStatus(api, fan), 200, 'status').body));
    const positions = places.filter((p) => p.status === 'WAITING').map((p) => p.position!);
    const admittedAtOnce = places.filter((p) => p.status === 'ACTIVE').length;
    expect(places.every((p) => p.status === 'WAITING' || p.status === 'ACTIVE')).toBe(true);
    expect(new Set(positions).size).toBe(positions.length);
    expect(Math.max(...positions)).toBeLessThanOrEqual(fans.length);

    // Admission follows the drawn order and never outruns 1 a second (plus the one second banked at the opening).
    const admittedOrder: number[] = [];
    await waitFor(
      async () => {
        const now = await Promise.all(fans.map(async (fan) => expectStatus(await queueStatus(api, fan), 200, 'status').body));
        // Fans admitted since the last look, in the order of the places they were drawn.
        const fresh = now.map((p: QueueStatus, i) => (p.status === 'ACTIVE' && !admittedOrder.includes(i) ? i : -1)).filter((i) => i >= 0);
        fresh.sort((x, y) => (places[x]!.position ?? 0) - (places[y]!.position ?? 0));
        admittedOrder.push(...fresh);
        const elapsedS = (Date.now() - opensAt.getTime()) / 1_000;
        expect(admittedOrder.length).toBeLessThanOrEqual(Math.floor(elapsedS) + 2);
        return admittedOrder.length === fans.length;
      },
      { timeoutMs: 60_000, intervalMs: 250, label: 'every early fan admitted' },
    );
    expect(admittedAtOnce).toBeLessThanOrEqual(2);
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(4_000); // 8 fans at 1 a second cannot all be in at once
    // Those still waiting right after the opening got in strictly in the order of their drawn places.
    const drawnOrder = [...places.keys()].filter((i) => places[i]!.status === 'WAITING').sort((x, y) => places[x]!.position! - places[y]!.position!);
    expect(admittedOrder.filter((i) => places[i]!.status === 'WAITING')).toEqual(drawnOrder);

    // A fan admitted to A's sale: A's seats yes, B's no, whichever service owns them.
    const fan = fans[0]!;
    await waitUntilActive(api, fan);
    expectStatus(await call(`${api}/schedules/${a.scheduleId}/seats`, { fan }), 200, 'A seats');
    const otherSeats = await call(`${api}/schedules/${b.scheduleId}/seats`, { fan });
    expect({ status: otherSeats.status, code: (otherSeats.body as { code?: string }).code }).toEqual({ status: 403, code: 'WRONG_SALE' });
    const otherHold = await call(`${api}/reservations`, { method: 'POST', fan, body: { scheduleId: b.scheduleId, seatNo: 1 } });
    expect({ status: otherHold.status, code: (otherHold.body as { code?: string }).code }).toEqual({ status: 403, code: 'WRONG_SALE' });
    const seatsOfB = expectStatus(await call<{ seats: { status: string }[] }>(`${api}/schedules/${b.scheduleId}/seats`, { fan: await admittedTo(b.concertId) }), 200, 'B seats').body.seats;
    expect(seatsOfB.every((s) => s.status === 'AVAILABLE')).toBe(true);
    // The same fan may stand in B's room too, with a place of its own there.
    const inB = await lineUp(api, { ...fan }, b.concertId);
    expect(inB.concertId).toBe(b.concertId);
  });

  async function admittedTo(concertId: string): Promise<Fan> {
    const fan = await signUpAndLogIn(api, 'Other');
    await lineUp(api, fan, concertId);
    await waitUntilActive(api, fan);
    return fan;
  }
});
