import { randomUUID } from 'node:crypto';
import { call, createReservationHarness, HARNESS_CONCERT, type ReservationHarness } from './reservation.harness';

/**
 * Admitted for one sale only: the gateway signs the sale (concert) whose waiting room admitted the
 * fan; the reservation service, which knows each date's concert from `schedule.published`, refuses
 * holding or cancelling on a date of another concert with 403 WRONG_SALE and changes nothing.
 */
describe('reservation: admitted for one sale only (real PostgreSQL)', () => {
  let h: ReservationHarness;
  const OTHER_CONCERT = randomUUID();
  const saleOf = (concertId: string, ticket = 5) => ({ concertId, ticket });
  const holdAs = (userId: string, sale: { concertId: string; ticket: number } | null, scheduleId: string, seatNo: number, url = h.a.url) =>
    call(url, { method: 'POST', path: '/api/v1/reservations', userId, sale, body: { scheduleId, seatNo } });
  const cancelAs = (userId: string, sale: { concertId: string; ticket: number } | null, reservationId: string) =>
    call(h.b.url, { method: 'DELETE', path: `/api/v1/reservations/${reservationId}`, userId, sale });

  beforeAll(async () => {
    h = await createReservationHarness({ holdTtlSeconds: 300, holdLimit: 4 });
  });
  afterAll(() => h?.cleanup());

  it("refuses a hold on a date of another concert with 403 WRONG_SALE and changes nothing; the concert's own sale holds it", async () => {
    const scheduleId = await h.publishSchedule({ price: 55_000 });
    const userId = randomUUID();
    const before = await h.snapshot();

    const wrong = await holdAs(userId, saleOf(OTHER_CONCERT), scheduleId, 3);
    expect(wrong.status).toBe(403);
    expect(wrong.contentType).toMatch(/^application\/problem\+json/);
    expect(wrong.body).toMatchObject({ code: 'WRONG_SALE', concertId: HARNESS_CONCERT, admittedFor: OTHER_CONCERT });
    const none = await holdAs(userId, null, scheduleId, 3, h.b.url);
    expect([none.status, none.body.code]).toEqual([403, 'WRONG_SALE']);
    expect(await h.snapshot()).toEqual(before);

    const right = await holdAs(userId, saleOf(HARNESS_CONCERT), scheduleId, 3);
    expect(right.status).toBe(201);
    const held = (await h.events('reservation.held')).filter((e) => e.payload.reservationId === right.body.reservationId);
    expect(held).toEqual([expect.objectContaining({ payload: expect.objectContaining({ scheduleId, seatNo: 3, userId, concertId: HARNESS_CONCERT }) })]);
  });

  it('answers WRONG_SALE before telling anything about the seat or the date (taken seat, closed booking, seat out of range)', async () => {
    const open = await h.publishSchedule({ seats: 10 });
    const closed = await h.publishSchedule({ opensInMs: 3_600_000, closesInMs: 7_200_000 });
    expect((await holdAs(randomUUID(), saleOf(HARNESS_CONCERT), open, 1)).status).toBe(201);
    const before = await h.snapshot();
    for (const [scheduleId, seatNo] of [
      [open, 1],
      [closed, 1],
      [open, 11],
    ] as const) {
      const res = await holdAs(randomUUID(), saleOf(OTHER_CONCERT), scheduleId, seatNo);
      expect({ scheduleId, seatNo, status: res.status, code: res.body.code }).toEqual({ scheduleId, seatNo, status: 403, code: 'WRONG_SALE' });
    }
    expect(await h.snapshot()).toEqual(before);
    // An unknown date is still a 404, whatever the sale.
    const unknown = await holdAs(randomUUID(), saleOf(OTHER_CONCERT), randomUUID(), 1);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('does not let a fan of another sale take over a hold past its deadline that no sweeper released yet', async () => {
    const scheduleId = await h.publishSchedule();
    const first = await holdAs(randomUUID(), saleOf(HARNESS_CONCERT), scheduleId, 9);
    expect(first.status).toBe(201);
    // The hold runs out; the sweepers are stopped, so it stays HELD past its deadline.
    await h.db('seats').where({ schedule_id: scheduleId, seat_no: 9 }).update({ hold_expires_at: h.db.raw("now() - interval '1 second'") });
    await h.db('reservations').where({ id: first.body.reservationId }).update({ hold_expires_at: h.db.raw("now() - interval '1 second'") });
    const before = await h.snapshot();

    const wrong = await holdAs(randomUUID(), saleOf(OTHER_CONCERT), scheduleId, 9);
    expect([wrong.status, wrong.body.code]).toEqual([403, 'WRONG_SALE']);
    expect(await h.snapshot()).toEqual(before);

    const right = await holdAs(randomUUID(), saleOf(HARNESS_CONCERT), scheduleId, 9);
    expect(right.status).toBe(201);
    expect(await h.reservation(first.body.reservationId as string)).toMatchObject({ status: 'EXPIRED' });
  });

  it('refuses cancelling a hold under another sale (or none) with WRONG_SALE, keeping the hold; its own sale cancels it', async () => {
    const scheduleId = await h.publishSchedule();
    const userId = randomUUID();
    const held = await holdAs(userId, saleOf(HARNESS_CONCERT), scheduleId, 20);
    expect(held.status).toBe(201);
    const reservationId = held.body.reservationId as string;
    const before = await h.snapshot();

    const wrong = await cancelAs(userId, saleOf(OTHER_CONCERT), reservationId);
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatchObject({ code: 'WRONG_SALE', concertId: HARNESS_CONCERT, admittedFor: OTHER_CONCERT });
    const none = await cancelAs(userId, null, reservationId);
    expect([none.status, none.body.code]).toEqual([403, 'WRONG_SALE']);
    expect(await h.snapshot()).toEqual(before);
    expect(await h.seat(scheduleId, 20)).toMatchObject({ status: 'HELD', reservation_id: reservationId });

    // Someone else's reservation stays indistinguishable from a missing one, whatever their sale.
    const intruder = await cancelAs(randomUUID(), saleOf(OTHER_CONCERT), reservationId);
    expect([intruder.status, intruder.body.code]).toEqual([404, 'NOT_FOUND']);

    const right = await cancelAs(userId, saleOf(HARNESS_CONCERT), reservationId);
    expect(right.status).toBe(200);
    expect(right.body).toEqual({ reservationId, status: 'CANCELLED' });
    expect(await h.seat(scheduleId, 20)).toMatchObject({ status: 'AVAILABLE', reservation_id: null });
  });

  it('keeps two concerts apart: each sale holds its own dates only', async () => {
    const ofA = await h.publishSchedule();
    const ofB = await h.publishSchedule({ concertId: OTHER_CONCERT });
    const fan = randomUUID();
    const answers = await Promise.all([
      holdAs(fan, saleOf(HARNESS_CONCERT), ofA, 1),
      holdAs(fan, saleOf(OTHER_CONCERT), ofB, 1),
      holdAs(fan, saleOf(HARNESS_CONCERT), ofB, 2),
      holdAs(fan, saleOf(OTHER_CONCERT), ofA, 2),
    ]);
    expect(answers.map((a) => [a.status, a.body.code ?? a.body.status])).toEqual([
      [201, 'HELD'],
      [201, 'HELD'],
      [403, 'WRONG_SALE'],
      [403, 'WRONG_SALE'],
    ]);
    const concertsOfHolds = (await h.events('reservation.held')).filter((e) => e.payload.userId === fan).map((e) => [e.payload.scheduleId, e.payload.concertId]);
    expect(concertsOfHolds.sort()).toEqual(
      [
        [ofA, HARNESS_CONCERT],
        [ofB, OTHER_CONCERT],
      ].sort(),
    );
  });
});
