import { randomUUID } from 'node:crypto';
import { call, createReservationHarness, hold, HARNESS_CONCERT, type ReservationHarness } from './reservation.harness';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PROBLEM = /^application\/problem\+json/;

describe('seat holds (real PostgreSQL, two instances)', () => {
  let h: ReservationHarness;
  beforeAll(async () => {
    h = await createReservationHarness({ holdTtlSeconds: 300, holdLimit: 4 });
  });
  afterAll(() => h?.cleanup());

  it('holds a seat → 201 {reservationId, status HELD, holdExpiresAt, price}, with the reservation and reservation.held in one commit', async () => {
    const scheduleId = await h.publishSchedule({ price: 88_000 });
    const userId = randomUUID();
    const before = Date.now();
    const res = await hold(h.a.url, userId, scheduleId, 7);

    expect(res.status).toBe(201);
    expect(res.body).toEqual({ reservationId: expect.stringMatching(UUID), status: 'HELD', holdExpiresAt: expect.any(String), price: 88_000 });
    const expiresAt = Date.parse(res.body.holdExpiresAt as string);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 299_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 301_000);

    expect(await h.seat(scheduleId, 7)).toMatchObject({ status: 'HELD', reservation_id: res.body.reservationId, holder_user_id: userId, version: 2, price: 88_000 });
    expect(await h.reservation(res.body.reservationId as string)).toMatchObject({ status: 'HELD', user_id: userId, schedule_id: scheduleId, seat_no: 7, price: 88_000 });
    const held = (await h.events('reservation.held')).filter((e) => e.payload.reservationId === res.body.reservationId);
    expect(held).toEqual([
      expect.objectContaining({
        key: `${scheduleId}:7`,
        payload: { reservationId: res.body.reservationId, scheduleId, seatNo: 7, userId, seatVersion: 2, price: 88_000, holdExpiresAt: res.body.holdExpiresAt, concertId: HARNESS_CONCERT },
      }),
    ]);
  });

  it('500 users race for one seat across two instances → exactly one 201, 499 × 409 SEAT_UNAVAILABLE, no 5xx', async () => {
    const scheduleId = await h.publishSchedule();
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => hold(i % 2 ? h.a.url : h.b.url, randomUUID(), scheduleId, 1)));

    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(499);
    expect(answers.filter((a) => a.status === 409).every((a) => a.body.code === 'SEAT_UNAVAILABLE' && PROBLEM.test(a.contentType))).toBe(true);

    const winner = answers.find((a) => a.status === 201)!;
    expect(await h.db('reservations').where({ schedule_id: scheduleId })).toEqual([expect.objectContaining({ id: winner.body.reservationId, status: 'HELD' })]);
    expect(await h.seat(scheduleId, 1)).toMatchObject({ status: 'HELD', reservation_id: winner.body.reservationId, version: 2 });
    expect((await h.events('reservation.held')).filter((e) => e.payload.scheduleId === scheduleId)).toHaveLength(1);
  });

  it('2,000 holds over 50 seats → exactly 50 winners, one per seat, never a seat held twice', async () => {
    const scheduleId = await h.publishSchedule({ seats: 50 });
    const attempts = Array.from({ length: 2_000 }, (_, i) => ({ userId: randomUUID(), seatNo: (i % 50) + 1 }));
    const answers = await Promise.all(attempts.map(({ userId, seatNo }, i) => hold(i % 2 ? h.a.url : h.b.url, userId, scheduleId, seatNo)));

    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    const winners = answers.map((a, i) => ({ ...a, ...attempts[i] })).filter((a) => a.status === 201);
    expect(winners).toHaveLength(50);
    expect(new Set(winners.map((w) => w.seatNo)).size).toBe(50);
    expect(answers.filter((a) => a.status === 409 && a.body.code === 'SEAT_UNAVAILABLE')).toHaveLength(1_950);

    const seats = await h.db('seats').where({ schedule_id: scheduleId });
    const reservations = await h.db('reservations').where({ schedule_id: scheduleId });
    expect(reservations).toHaveLength(50);
    for (const w of winners) {
      const seat = seats.find((s) => s.seat_no === w.seatNo);
      expect(seat).toMatchObject({ status: 'HELD', holder_user_id: w.userId, reservation_id: w.body.reservationId, version: 2 });
    }
    expect((await h.events('reservation.held')).filter((e) => e.payload.scheduleId === scheduleId)).toHaveLength(50);
  });

  it('a user holds at most HOLD_LIMIT seats per schedule, even firing 12 holds at once on two instances; a cancel frees a slot', async () => {
    const scheduleId = await h.publishSchedule();
    const otherSchedule = await h.publishSchedule();
    const userId = randomUUID();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => hold(i % 2 ? h.a.url : h.b.url, userId, scheduleId, i + 1)));

    expect(answers.filter((a) => a.status === 201)).toHaveLength(4);
    const refused = answers.filter((a) => a.status !== 201);
    expect(refused).toHaveLength(8);
    expect(refused.every((a) => a.status === 409 && a.body.code === 'HOLD_LIMIT_REACHED')).toBe(true);
    expect(await h.db('seats').where({ schedule_id: scheduleId, status: 'HELD' })).toHaveLength(4);
    expect(await h.db('hold_counts').where({ user_id: userId, schedule_id: scheduleId }).first()).toMatchObject({ n: 4 });

    // The limit is per schedule.
    expect((await hold(h.a.url, userId, otherSchedule, 1)).status).toBe(201);

    const before = await h.snapshot();
    const fifth = await hold(h.a.url, userId, scheduleId, 40);
    expect(fifth).toMatchObject({ status: 409, body: { code: 'HOLD_LIMIT_REACHED', limit: 4 } });
    expect(await h.snapshot()).toEqual(before);

    const first = answers.find((a) => a.status === 201)!;
    expect((await call(h.b.url, { method: 'DELETE', path: `/api/v1/reservations/${first.body.reservationId}`, userId })).status).toBe(200);
    expect((await hold(h.b.url, userId, scheduleId, 40)).status).toBe(201);
  });

  it('cancel frees the seat for someone else; only the holder can cancel, and only a live hold', async () => {
    const scheduleId = await h.publishSchedule();
    const [owner, stranger] = [randomUUID(), randomUUID()];
    const held = await hold(h.a.url, owner, scheduleId, 3);
    const reservationId = held.body.reservationId as string;
    const cancelPath = `/api/v1/reservations/${reservationId}`;

    const before = await h.snapshot();
    const foreign = await call(h.b.url, { method: 'DELETE', path: cancelPath, userId: stranger });
    expect(foreign).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(foreign.contentType).toMatch(PROBLEM);
    expect(await h.snapshot()).toEqual(before);

    const cancelled = await call(h.b.url, { method: 'DELETE', path: cancelPath, userId: owner });
    expect(cancelled).toMatchObject({ status: 200, body: { reservationId, status: 'CANCELLED' } });
    expect(await h.seat(scheduleId, 3)).toMatchObject({ status: 'AVAILABLE', reservation_id: null, holder_user_id: null, hold_expires_at: null, version: 3 });
    expect(await h.reservation(reservationId)).toMatchObject({ status: 'CANCELLED' });
    expect(await h.db('hold_counts').where({ user_id: owner, schedule_id: scheduleId }).first()).toMatchObject({ n: 0 });
    expect((await h.events('reservation.cancelled')).filter((e) => e.payload.reservationId === reservationId)).toEqual([
      expect.objectContaining({ key: `${scheduleId}:3`, payload: { reservationId, scheduleId, seatNo: 3, userId: owner, seatVersion: 3 } }),
    ]);

    const again = await call(h.a.url, { method: 'DELETE', path: cancelPath, userId: owner });
    expect(again).toMatchObject({ status: 409, body: { code: 'RESERVATION_NOT_CANCELLABLE', reservationStatus: 'CANCELLED' } });

    const retaken = await hold(h.a.url, stranger, scheduleId, 3);
    expect(retaken.status).toBe(201);
    expect(await h.seat(scheduleId, 3)).toMatchObject({ status: 'HELD', holder_user_id: stranger, version: 4 });
  });

  it('GET /reservations lists only the caller’s reservations, newest first', async () => {
    const scheduleId = await h.publishSchedule();
    const [me, other] = [randomUUID(), randomUUID()];
    const r1 = await hold(h.a.url, me, scheduleId, 1);
    const r2 = await hold(h.b.url, me, scheduleId, 2);
    await hold(h.a.url, other, scheduleId, 3);
    await call(h.a.url, { method: 'DELETE', path: `/api/v1/reservations/${r1.body.reservationId}`, userId: me });

    const mine = await call(h.b.url, { userId: me, access: 'user' });
    expect(mine.status).toBe(200);
    expect(mine.body.reservations).toEqual([
      expect.objectContaining({ reservationId: r2.body.reservationId, scheduleId, seatNo: 2, status: 'HELD', holdExpiresAt: r2.body.holdExpiresAt, price: 100_000, paymentId: null }),
      expect.objectContaining({ reservationId: r1.body.reservationId, seatNo: 1, status: 'CANCELLED', holdExpiresAt: null }),
    ]);
    expect((await call(h.a.url, { userId: randomUUID() })).body).toEqual({ reservations: [], nextCursor: null });
  });

  it('GET /reservations pages with a cursor: every reservation once, newest first, while new ones arrive', async () => {
    const me = randomUUID();
    const schedules = await Promise.all([1, 2, 3].map(() => h.publishSchedule()));
    const made: string[] = [];
    for (const [i, scheduleId] of schedules.entries()) {
      for (const seatNo of [1, 2, 3]) {
        const res = await hold(i % 2 ? h.a.url : h.b.url, me, scheduleId, seatNo);
        made.push(res.body.reservationId as string);
      }
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(h.a.url, { userId: me, access: 'user', path: `/api/v1/reservations?limit=4${cursor ? `&cursor=${cursor}` : ''}` });
      expect(res.status).toBe(200);
      seen.push(...(res.body.reservations as { reservationId: string }[]).map((r) => r.reservationId));
      cursor = res.body.nextCursor as string | null;
      if (pages++ === 0) await hold(h.a.url, me, schedules[0], 4); // newer than the first page: must not shift the next pages
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].reverse());

    for (const bad of ['limit=0', 'limit=101', 'limit=x', 'cursor=nope', 'userId=x']) {
      const res = await call(h.a.url, { userId: me, access: 'user', path: `/api/v1/reservations?${bad}` });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
  });

  describe('refusals: problem+json with a stable code, and nothing changes', () => {
    let scheduleId: string;
    let gappy: string;
    let closed: string;
    let notYetOpen: string;
    beforeAll(async () => {
      scheduleId = await h.publishSchedule({ seats: 50 });
      gappy = await h.publishSchedule({ seatNos: [1, 2, 3, 5] });
      closed = await h.publishSchedule({ opensInMs: -86_400_000, closesInMs: -1_000 });
      notYetOpen = await h.publishSchedule({ opensInMs: 30_000 }); // half a minute to go: still closed
    });

    const userId = randomUUID();
    const cases: [string, () => Parameters<typeof call>[1], number, string][] = [
      ['no body', () => ({ method: 'POST', userId }), 400, 'VALIDATION_FAILED'],
      ['malformed JSON', () => ({ method: 'POST', userId, rawBody: '{"scheduleId":' }), 400, 'MALFORMED_JSON'],
      ['a JSON array', () => ({ method: 'POST', userId, body: [] }), 400, 'VALIDATION_FAILED'],
      ['seatNo as a string', () => ({ method: 'POST', userId, body: { scheduleId, seatNo: '1' } }), 400, 'VALIDATION_FAILED'],
      ['seatNo 0', () => ({ method: 'POST', userId, body: { scheduleId, seatNo: 0 } }), 400, 'VALIDATION_FAILED'],
      ['seatNo negative', () => ({ method: 'POST', userId, body: { scheduleId, seatNo: -3 } }), 400, 'VALIDATION_FAILED'],
      ['seatNo fractional', () => ({ method: 'POST', userId, body: { scheduleId, seatNo: 1.5 } }), 400, 'VALIDATION_FAILED'],
      ['seatNo beyond the schedule (51 of 50)', () => ({ method: 'POST', userId, body: { scheduleId, seatNo: 51 } }), 400, 'VALIDATION_FAILED'],
      ['seatNo beyond any schedule', () => ({ method: 'POST', userId, body: { scheduleId, seatNo: 10_001 } }), 400, 'VALIDATION_FAILED'],
      ['missing seatNo', () => ({ method: 'POST', userId, body: { scheduleId } }), 400, 'VALIDATION_FAILED'],
      ['malformed scheduleId', () => ({ method: 'POST', userId, body: { scheduleId: 'not-a-uuid', seatNo: 1 } }), 400, 'VALIDATION_FAILED'],
      ['a userId in the body', () => ({ method: 'POST', userId, body: { scheduleId, seatNo: 1, userId: randomUUID() } }), 400, 'VALIDATION_FAILED'],
      ['unknown schedule', () => ({ method: 'POST', userId, body: { scheduleId: randomUUID(), seatNo: 1 } }), 404, 'NOT_FOUND'],
      ['a seat the schedule does not have', () => ({ method: 'POST', userId, body: { scheduleId: gappy, seatNo: 4 } }), 404, 'NOT_FOUND'],
      ['booking closed', () => ({ method: 'POST', userId, body: { scheduleId: closed, seatNo: 1 } }), 409, 'BOOKING_CLOSED'],
      ['booking not open yet', () => ({ method: 'POST', userId, body: { scheduleId: notYetOpen, seatNo: 1 } }), 409, 'BOOKING_CLOSED'],
      ['holding without admission', () => ({ method: 'POST', userId, access: 'user', body: { scheduleId, seatNo: 1 } }), 403, 'FORBIDDEN'],
      ['cancel with a malformed id', () => ({ method: 'DELETE', path: '/api/v1/reservations/123', userId }), 400, 'VALIDATION_FAILED'],
      ['cancel an unknown reservation', () => ({ method: 'DELETE', path: `/api/v1/reservations/${randomUUID()}`, userId }), 404, 'NOT_FOUND'],
      ['no gateway credentials', () => ({ method: 'POST', body: { scheduleId, seatNo: 1 } }), 401, 'INTERNAL_AUTH_REQUIRED'],
      ['no gateway credentials on the list', () => ({}), 401, 'INTERNAL_AUTH_REQUIRED'],
    ];

    it('holds inside the booking window up to its edges: opened a second ago, closing in half a minute', async () => {
      const justOpened = await h.publishSchedule({ opensInMs: -1_000 });
      const closingSoon = await h.publishSchedule({ closesInMs: 30_000 });
      expect((await hold(h.a.url, randomUUID(), justOpened, 1)).status).toBe(201);
      expect((await hold(h.b.url, randomUUID(), closingSoon, 1)).status).toBe(201);
    });

    it.each(cases)('%s → %i %s', async (_label, request, status, code) => {
      const before = await h.snapshot();
      const res = await call(h.a.url, { path: '/api/v1/reservations', ...request() });
      expect(res.status).toBe(status);
      expect(res.contentType).toMatch(PROBLEM);
      expect(res.body).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
      expect(await h.snapshot()).toEqual(before);
    });

    it('forged gateway credentials → 401', async () => {
      const res = await fetch(`${h.a.url}/api/v1/reservations`, { headers: { 'x-internal-auth': 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.forged' } });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'INTERNAL_AUTH_REQUIRED' });
    });
  });
});
