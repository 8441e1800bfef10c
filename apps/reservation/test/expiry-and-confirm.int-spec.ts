import { waitFor } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { call, createReservationHarness, hold, sleep, type ReservationHarness } from './reservation.harness';

describe('hold expiry and confirmation (real PostgreSQL, two instances)', () => {
  let h: ReservationHarness;
  beforeAll(async () => {
    h = await createReservationHarness({ holdTtlSeconds: 1, sweepIntervalMs: 200 });
  });
  afterAll(() => h?.cleanup());

  describe('with both sweepers running', () => {
    beforeAll(() => {
      h.a.sweeper.start();
      h.b.sweeper.start();
    });
    afterAll(async () => {
      await h.a.sweeper.stop();
      await h.b.sweeper.stop();
    });

    it('releases a hold no sooner than its deadline and within 1 s after it, emits hold.expired, and the seat can be held again', async () => {
      const scheduleId = await h.publishSchedule();
      const [first, second] = [randomUUID(), randomUUID()];
      const held = await hold(h.a.url, first, scheduleId, 9);
      expect(held.status).toBe(201);
      const reservationId = held.body.reservationId as string;
      const deadline = Date.parse(held.body.holdExpiresAt as string);

      // Still held until the deadline (polled from the hold on), released within 1 s after it.
      const released = await waitFor(
        async () => {
          const seat = await h.seat(scheduleId, 9);
          return seat.status === 'AVAILABLE' ? { noticedAt: Date.now() } : undefined;
        },
        { timeoutMs: 5_000, intervalMs: 20, label: 'seat released' },
      );
      const releasedAt = (await h.releaseTimes()).get(reservationId)!;
      expect(releasedAt).toBeGreaterThanOrEqual(deadline);
      expect(releasedAt - deadline).toBeLessThan(1_000);
      expect(released.noticedAt).toBeGreaterThanOrEqual(deadline);

      expect(await h.seat(scheduleId, 9)).toMatchObject({ status: 'AVAILABLE', reservation_id: null, holder_user_id: null, version: 3 });
      expect(await h.reservation(reservationId)).toMatchObject({ status: 'EXPIRED' });
      expect(await h.db('hold_counts').where({ user_id: first, schedule_id: scheduleId }).first()).toMatchObject({ n: 0 });
      expect((await h.events('hold.expired')).filter((e) => e.payload.reservationId === reservationId)).toEqual([
        expect.objectContaining({ key: `${scheduleId}:9`, payload: { reservationId, scheduleId, seatNo: 9, userId: first, seatVersion: 3 } }),
      ]);

      const again = await hold(h.b.url, second, scheduleId, 9);
      expect(again.status).toBe(201);
      expect(await h.seat(scheduleId, 9)).toMatchObject({ status: 'HELD', holder_user_id: second, version: 4 });
    });

    it('two sweepers release 200 holds exactly once each, every one no sooner than its deadline and within 1 s after it', async () => {
      const scheduleId = await h.publishSchedule({ seats: 200 });
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => hold(i % 2 ? h.a.url : h.b.url, randomUUID(), scheduleId, i + 1)));
      expect(answers.every((a) => a.status === 201)).toBe(true);

      await waitFor(async () => (await h.db('seats').where({ schedule_id: scheduleId, status: 'AVAILABLE' })).length === 200, { timeoutMs: 10_000, intervalMs: 20, label: 'all released' });
      const releaseTimes = await h.releaseTimes();
      const offDeadline = answers
        .map((a) => ({ reservationId: a.body.reservationId as string, afterDeadlineMs: releaseTimes.get(a.body.reservationId as string)! - Date.parse(a.body.holdExpiresAt as string) }))
        .filter((r) => !(r.afterDeadlineMs >= 0 && r.afterDeadlineMs < 1_000));
      expect(offDeadline).toEqual([]);
      const expired = (await h.events('hold.expired')).filter((e) => e.payload.scheduleId === scheduleId);
      expect(expired).toHaveLength(200);
      expect(new Set(expired.map((e) => e.payload.reservationId)).size).toBe(200);
      expect(await h.db('reservations').where({ schedule_id: scheduleId, status: 'EXPIRED' })).toHaveLength(200);
    });

    it('a confirmation that won is never swept afterwards', async () => {
      const scheduleId = await h.publishSchedule();
      const userId = randomUUID();
      const held = await hold(h.a.url, userId, scheduleId, 2);
      const reservationId = held.body.reservationId as string;
      const paymentId = randomUUID();
      await h.confirm({ paymentId, reservationId, userId });

      await sleep(1_800); // past the deadline, several sweeps later
      expect(await h.seat(scheduleId, 2)).toMatchObject({ status: 'SOLD', reservation_id: reservationId, holder_user_id: userId, hold_expires_at: null, version: 3 });
      expect(await h.reservation(reservationId)).toMatchObject({ status: 'SOLD', payment_id: paymentId });
      expect((await h.events('hold.expired')).filter((e) => e.payload.reservationId === reservationId)).toEqual([]);
      expect((await h.events('reservation.confirmed')).filter((e) => e.payload.reservationId === reservationId)).toEqual([
        expect.objectContaining({ key: `${scheduleId}:2`, payload: { reservationId, scheduleId, seatNo: 2, userId, seatVersion: 3, paymentId } }),
      ]);
      expect(await h.db('hold_counts').where({ user_id: userId, schedule_id: scheduleId }).first()).toMatchObject({ n: 0 });
    });

    it('confirm after expiry is rejected with HOLD_EXPIRED and sells nothing', async () => {
      const scheduleId = await h.publishSchedule();
      const userId = randomUUID();
      const held = await hold(h.a.url, userId, scheduleId, 4);
      const reservationId = held.body.reservationId as string;
      await waitFor(async () => (await h.reservation(reservationId)).status === 'EXPIRED', { timeoutMs: 5_000, label: 'expired' });

      const paymentId = randomUUID();
      const request = await h.confirm({ paymentId, reservationId, userId });
      expect(await h.seat(scheduleId, 4)).toMatchObject({ status: 'AVAILABLE' });
      expect((await h.events('reservation.confirm-rejected')).filter((e) => e.payload.paymentId === paymentId)).toEqual([
        { type: 'reservation.confirm-rejected', key: paymentId, payload: { reservationId, paymentId, reason: 'HOLD_EXPIRED' }, causationId: request.id },
      ]);
    });
  });

  it('an unswept hold past its deadline can be taken over: the old hold expires (hold.expired) before the new one is held', async () => {
    const scheduleId = await h.publishSchedule();
    const [first, second] = [randomUUID(), randomUUID()];
    const held = await hold(h.a.url, first, scheduleId, 5);
    const firstId = held.body.reservationId as string;
    // Before its deadline (moved a minute away, so a slow machine cannot pass it) nobody takes it over.
    await h.db('seats').where({ reservation_id: firstId }).update({ hold_expires_at: h.db.raw(`now() + interval '1 minute'`) });
    expect(await hold(h.b.url, second, scheduleId, 5)).toMatchObject({ status: 409, body: { code: 'SEAT_UNAVAILABLE' } });
    await h.db('seats').where({ reservation_id: firstId }).update({ hold_expires_at: h.db.raw(`now() - interval '100 milliseconds'`) }); // no sweeper runs in this test

    const paymentId = randomUUID();
    const taken = await hold(h.b.url, second, scheduleId, 5);
    expect(taken.status).toBe(201);
    expect(await h.seat(scheduleId, 5)).toMatchObject({ status: 'HELD', holder_user_id: second, version: 4 });
    expect(await h.reservation(firstId)).toMatchObject({ status: 'EXPIRED' });
    expect(await h.db('hold_counts').where({ user_id: first, schedule_id: scheduleId }).first()).toMatchObject({ n: 0 });
    const seatEvents = (await h.events()).filter((e) => e.key === `${scheduleId}:5`);
    expect(seatEvents.map((e) => [e.type, e.payload.seatVersion])).toEqual([
      ['reservation.held', 2],
      ['hold.expired', 3],
      ['reservation.held', 4],
    ]);

    // The first holder's late payment loses.
    await h.confirm({ paymentId, reservationId: firstId, userId: first });
    expect((await h.events('reservation.confirm-rejected')).find((e) => e.payload.paymentId === paymentId)?.payload.reason).toBe('HOLD_EXPIRED');
  });

  it('a hold is honoured for its whole length and not past it: confirm and cancel work before the deadline, never after (no sweeper)', async () => {
    const scheduleId = await h.publishSchedule();
    const userId = randomUUID();
    const [early, toCancel, late, tooLateToCancel] = await Promise.all([11, 12, 13, 14].map((seatNo) => hold(h.a.url, userId, scheduleId, seatNo)));
    const id = (a: { body: Record<string, unknown> }) => a.body.reservationId as string;
    // Two of them a minute from their deadline (however slow this machine is, they are live holds).
    await h.db('seats').whereIn('reservation_id', [id(early), id(toCancel)]).update({ hold_expires_at: h.db.raw(`now() + interval '1 minute'`) });
    const earlyPayment = randomUUID();
    await h.confirm({ paymentId: earlyPayment, reservationId: id(early), userId });
    expect(await h.seat(scheduleId, 11)).toMatchObject({ status: 'SOLD', reservation_id: id(early) });
    expect(await call(h.a.url, { method: 'DELETE', path: `/api/v1/reservations/${id(toCancel)}`, userId })).toMatchObject({ status: 200, body: { status: 'CANCELLED' } });

    // The other two past their deadline, unswept: over for confirm and cancel alike.
    const deadline = Math.max(Date.parse(late.body.holdExpiresAt as string), Date.parse(tooLateToCancel.body.holdExpiresAt as string));
    await sleep(Math.max(0, deadline + 50 - Date.now()));
    const latePayment = randomUUID();
    await h.confirm({ paymentId: latePayment, reservationId: id(late), userId });
    expect((await h.events('reservation.confirm-rejected')).find((e) => e.payload.paymentId === latePayment)?.payload.reason).toBe('HOLD_EXPIRED');
    expect(await h.seat(scheduleId, 13)).toMatchObject({ status: 'HELD', reservation_id: id(late) });
    expect(await call(h.a.url, { method: 'DELETE', path: `/api/v1/reservations/${id(tooLateToCancel)}`, userId })).toMatchObject({
      status: 409,
      body: { code: 'RESERVATION_NOT_CANCELLABLE' },
    });
  });

  it('confirm: NOT_HOLDER, UNKNOWN_RESERVATION, ALREADY_SOLD, and the winning payment is confirmed again on a repeat', async () => {
    const scheduleId = await h.publishSchedule();
    const userId = randomUUID();
    const held = await hold(h.a.url, userId, scheduleId, 6);
    const reservationId = held.body.reservationId as string;
    const reasonFor = async (paymentId: string) => (await h.events('reservation.confirm-rejected')).find((e) => e.payload.paymentId === paymentId)?.payload.reason;

    const stranger = randomUUID();
    await h.confirm({ paymentId: stranger, reservationId, userId: randomUUID() });
    expect(await reasonFor(stranger)).toBe('NOT_HOLDER');
    const unknown = randomUUID();
    await h.confirm({ paymentId: unknown, reservationId: randomUUID(), userId });
    expect(await reasonFor(unknown)).toBe('UNKNOWN_RESERVATION');
    expect(await h.seat(scheduleId, 6)).toMatchObject({ status: 'HELD', version: 2 });

    const paymentId = randomUUID();
    await h.confirm({ paymentId, reservationId, userId });
    await h.confirm({ paymentId, reservationId, userId }, h.b.db); // the saga sent it again
    const confirmed = (await h.events('reservation.confirmed')).filter((e) => e.payload.reservationId === reservationId);
    expect(confirmed.map((e) => e.payload)).toEqual([
      { reservationId, scheduleId, seatNo: 6, userId, seatVersion: 3, paymentId },
      { reservationId, scheduleId, seatNo: 6, userId, seatVersion: 3, paymentId },
    ]);
    expect(await reasonFor(paymentId)).toBeUndefined();

    const secondPayment = randomUUID();
    await h.confirm({ paymentId: secondPayment, reservationId, userId });
    expect(await reasonFor(secondPayment)).toBe('ALREADY_SOLD');
    expect(await h.seat(scheduleId, 6)).toMatchObject({ status: 'SOLD', version: 3 });
    expect(await h.reservation(reservationId)).toMatchObject({ status: 'SOLD', payment_id: paymentId });
  });

  it('confirm racing the sweeper at the deadline has exactly one winner, every time (40 races)', async () => {
    const scheduleId = await h.publishSchedule({ seats: 40 });
    const outcomes = { confirmed: 0, expired: 0 };
    for (let seatNo = 1; seatNo <= 40; seatNo++) {
      const userId = randomUUID();
      const held = await hold(h.a.url, userId, scheduleId, seatNo);
      const reservationId = held.body.reservationId as string;
      // Move the deadline to a few ms from now, so the two land on it together.
      const offsetMs = (seatNo % 31) - 15;
      await h.db.raw(`update seats set hold_expires_at = now() + make_interval(secs => ?) where reservation_id = ?`, [0.03 + offsetMs / 1000, reservationId]);
      await sleep(30);
      const paymentId = randomUUID();
      await Promise.all([h.confirm({ paymentId, reservationId, userId }, h.a.db), h.b.sweeper.sweepOnce(), h.a.sweeper.sweepOnce()]);
      await h.b.sweeper.sweepOnce(); // whatever the confirmation left HELD past its deadline is released now

      const seat = await h.seat(scheduleId, seatNo);
      const reservation = await h.reservation(reservationId);
      const events = (await h.events()).filter((e) => e.payload.reservationId === reservationId && e.type !== 'reservation.held');
      if (seat.status === 'SOLD') {
        outcomes.confirmed++;
        expect(reservation).toMatchObject({ status: 'SOLD', payment_id: paymentId });
        expect(events.map((e) => e.type)).toEqual(['reservation.confirmed']);
      } else {
        outcomes.expired++;
        expect(seat).toMatchObject({ status: 'AVAILABLE', reservation_id: null });
        expect(reservation).toMatchObject({ status: 'EXPIRED', payment_id: null });
        expect(events.map((e) => e.type).sort()).toEqual(['hold.expired', 'reservation.confirm-rejected']);
        expect(events.find((e) => e.type === 'reservation.confirm-rejected')!.payload.reason).toBe('HOLD_EXPIRED');
      }
    }
    expect(outcomes.confirmed + outcomes.expired).toBe(40);
    // Deadlines spread from 15 ms before to 15 ms after the race: both endings must have happened.
    expect(outcomes.confirmed).toBeGreaterThan(0);
    expect(outcomes.expired).toBeGreaterThan(0);
  });
});

describe('hold expiry sweeper at rest (real PostgreSQL)', () => {
  let h: ReservationHarness;
  beforeAll(async () => {
    h = await createReservationHarness({ holdTtlSeconds: 300, sweepIntervalMs: 100 });
  });
  afterAll(() => h?.cleanup());

  it('looks once, then not again before the earliest deadline or a hold TTL: no query every interval', async () => {
    const scheduleId = await h.publishSchedule();
    expect((await hold(h.a.url, randomUUID(), scheduleId, 1)).status).toBe(201); // deadline in 300 s
    let queries = 0;
    const count = () => queries++;
    h.a.db.on('query', count);
    try {
      h.a.sweeper.start();
      await sleep(2_000); // twenty intervals
      // The first round: a sweep transaction (begin, release, commit) and the look at the next deadline.
      expect(queries).toBeLessThanOrEqual(4);
      expect(queries).toBeGreaterThan(0);
    } finally {
      h.a.db.off('query', count);
      await h.a.sweeper.stop();
    }
    expect(await h.seat(scheduleId, 1)).toMatchObject({ status: 'HELD' });
  });
});

describe('hold expiry sweeper and a hold its look could not see (real PostgreSQL)', () => {
  let h: ReservationHarness;
  beforeAll(async () => {
    h = await createReservationHarness({ holdTtlSeconds: 2, sweepIntervalMs: 100 });
  });
  afterAll(() => h?.cleanup());

  it('releases on time a hold whose transaction began before the sweeper looked and committed after it', async () => {
    const scheduleId = await h.publishSchedule();
    h.a.sweeper.start(); // looks now and sees no hold: next look a hold TTL (2 s) later
    await sleep(300);
    // Keep the seat row locked, so the hold (begun now, its deadline 2 s from now) commits only later.
    const lock = await h.db.transaction();
    await lock('seats').where({ schedule_id: scheduleId, seat_no: 1 }).forUpdate();
    const pending = hold(h.a.url, randomUUID(), scheduleId, 1);
    await sleep(2_300); // the sweeper's second look has passed, and found nothing committed
    await lock.commit();
    const held = await pending;
    expect(held.status).toBe(201);
    const deadline = Date.parse(held.body.holdExpiresAt as string);

    await waitFor(async () => (await h.seat(scheduleId, 1)).status === 'AVAILABLE', { timeoutMs: 6_000, intervalMs: 20, label: 'seat released' });
    const releasedAt = (await h.releaseTimes()).get(held.body.reservationId as string)!;
    expect(releasedAt).toBeGreaterThanOrEqual(deadline);
    // Not at the sweeper's next look by its own schedule (a hold TTL after the look, ~2 s late).
    expect(releasedAt - deadline).toBeLessThan(1_000);
  });
});
