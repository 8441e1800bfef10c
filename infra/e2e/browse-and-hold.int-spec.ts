import { waitFor } from '@ticketing/testing';
import { seedDemo } from '../scripts/seed-demo';
import { call, expectStatus, lineUp, signUpAndLogIn, waitUntilActive, type Fan } from './fan-client';
import { startSystem, type RunningSystem } from './system.harness';

/**
 * Issue 4 as a new user tries it: all five services as real processes, demo data from the real seed
 * script, two fans through the gateway. Browse concerts, dates and seats; one fan holds a seat, the
 * other is refused it; the hold runs out and the seat is free again for the other fan.
 */

jest.setTimeout(120_000);

const HOLD_TTL_SECONDS = 4;

interface Concert {
  concertId: string;
  title: string;
}
interface Schedule {
  scheduleId: string;
  concertId: string;
  availableSeats: number;
  seatCount: number;
}
interface Seat {
  seatNo: number;
  status: 'AVAILABLE' | 'HELD' | 'SOLD';
  price: number;
}

describe('browse and hold through the gateway (all services as processes)', () => {
  let system: RunningSystem | undefined;
  let api: string;
  let a: Fan;
  let b: Fan;

  beforeAll(async () => {
    system = await startSystem({ label: 'e2e_browse', env: { reservation: { HOLD_TTL_SECONDS: String(HOLD_TTL_SECONDS) } } });
    api = system.api;
    const seeded = await seedDemo({ gatewayUrl: system.gatewayUrl, adminKey: system.adminKey, log: () => undefined });
    expect(seeded).toMatchObject({ seeded: true });
    expect(seeded.schedules).toBeGreaterThan(0);
  }, 100_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('lets two new fans browse, hold, be refused, and hold again after the hold expires', async () => {
    [a, b] = await Promise.all([signUpAndLogIn(api, 'Alice'), signUpAndLogIn(api, 'Bob')]);
    // Concerts are public; the seeded ones are there.
    const concerts = expectStatus(await call<{ concerts: Concert[] }>(`${api}/concerts`), 200, 'concerts').body.concerts;
    expect(concerts.length).toBeGreaterThanOrEqual(3);
    const concert = concerts[0]!;
    await lineUp(api, a, concert.concertId);
    await lineUp(api, b, concert.concertId);
    await Promise.all([waitUntilActive(api, a), waitUntilActive(api, b)]);

    // Every seeded concert has a sale open now (queue mode), shown publicly with the concert.
    for (const c of concerts) {
      const detail = expectStatus(await call<{ concertId: string; sale: { queueOpensAt: string; saleOpensAt: string; mode: string } | null }>(`${api}/concerts/${c.concertId}`), 200, 'concert').body;
      expect(detail).toMatchObject({ concertId: c.concertId, title: c.title, sale: { mode: 'queue' } });
      expect(Date.parse(detail.sale!.saleOpensAt)).toBeLessThanOrEqual(Date.now());
      expect(detail.sale!.queueOpensAt).toBe(detail.sale!.saleOpensAt);
    }

    // Dates, bookable ones only, with availableSeats.
    const schedules = expectStatus(await call<{ schedules: Schedule[] }>(`${api}/concerts/${concert.concertId}/schedules`, { fan: a }), 200, 'schedules').body.schedules;
    expect(schedules.length).toBeGreaterThan(0);
    for (const s of schedules) {
      expect(s.concertId).toBe(concert.concertId);
      expect(s.availableSeats).toBe(s.seatCount);
    }
    const schedule = schedules[0]!;

    // Seats 1..50 with status and price, never anyone's user id.
    const listSeats = async () => {
      const answer = expectStatus(await call<{ seats: Seat[] }>(`${api}/schedules/${schedule.scheduleId}/seats`, { fan: b }), 200, 'seats');
      expect(answer.text).not.toContain(a.userId);
      expect(answer.text).not.toContain(b.userId);
      return answer.body.seats;
    };
    const seats = await listSeats();
    expect(seats.map((s) => s.seatNo)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    for (const seat of seats) {
      expect(seat.status).toBe('AVAILABLE');
      expect(Number.isInteger(seat.price) && seat.price > 0).toBe(true);
      expect(Object.keys(seat).sort()).toEqual(['price', 'seatNo', 'status']);
    }
    const seatNo = 7;
    const price = seats[seatNo - 1]!.price;

    // A holds the seat. The reservation service learns of the date from Kafka, so the very first
    // attempt may come before it has the seats: retry only that case.
    let holdAskedAt = 0;
    const hold = await waitFor(
      async () => {
        holdAskedAt = Date.now();
        const answer = await call<{ reservationId: string; status: string; holdExpiresAt: string; price: number }>(`${api}/reservations`, {
          method: 'POST',
          fan: a,
          body: { scheduleId: schedule.scheduleId, seatNo },
        });
        return answer.status === 404 ? undefined : answer;
      },
      { timeoutMs: 30_000, intervalMs: 100, label: 'the reservation service to know the seeded date' },
    );
    expectStatus(hold, 201, 'A holds the seat');
    expect(hold.body).toMatchObject({ status: 'HELD', price });
    // The hold lasts HOLD_TTL_SECONDS from when it was made, which was while the request was under way.
    const holdExpiresAt = Date.parse(hold.body.holdExpiresAt);
    expect(holdExpiresAt).toBeGreaterThanOrEqual(holdAskedAt + HOLD_TTL_SECONDS * 1000 - 5);
    expect(holdExpiresAt).toBeLessThanOrEqual(Date.now() + HOLD_TTL_SECONDS * 1000 + 5);

    // B is refused the same seat.
    const refused = await call(`${api}/reservations`, { method: 'POST', fan: b, body: { scheduleId: schedule.scheduleId, seatNo } });
    expect(refused.status).toBe(409);
    expect(refused.contentType).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 409, code: 'SEAT_UNAVAILABLE' });

    // The listing (a read model fed by Kafka) shows it HELD, then AVAILABLE once the hold runs out.
    // The HELD state lasts only HOLD_TTL_SECONDS, so it is looked for quickly.
    await waitFor(async () => (await listSeats())[seatNo - 1]!.status === 'HELD', { timeoutMs: HOLD_TTL_SECONDS * 1000, intervalMs: 50, label: 'seat listed HELD' });
    await waitFor(async () => (await listSeats())[seatNo - 1]!.status === 'AVAILABLE', { timeoutMs: 20_000, intervalMs: 100, label: 'seat listed AVAILABLE after the hold expired' });
    // Not freed early (same machine, same clock).
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(hold.body.holdExpiresAt));
    const mine = expectStatus(await call<{ reservations: { reservationId: string; status: string }[] }>(`${api}/reservations`, { fan: a }), 200, "A's reservations");
    expect(mine.body.reservations).toEqual([expect.objectContaining({ reservationId: hold.body.reservationId, status: 'EXPIRED' })]);

    // Now B gets it.
    const second = expectStatus(await call(`${api}/reservations`, { method: 'POST', fan: b, body: { scheduleId: schedule.scheduleId, seatNo } }), 201, 'B holds the freed seat');
    expect(second.body).toMatchObject({ status: 'HELD', price });
    await waitFor(async () => (await listSeats())[seatNo - 1]!.status === 'HELD', { timeoutMs: 15_000, intervalMs: 50, label: "B's hold listed" });
    const others = (await listSeats()).filter((s) => s.seatNo !== seatNo);
    expect(others.every((s) => s.status === 'AVAILABLE')).toBe(true);
  });

  it('answers a malformed schedule id with 400 and an unknown one with 404, as problem+json', async () => {
    const malformed = await call(`${api}/schedules/not-a-uuid/seats`, { fan: a });
    expect(malformed.status).toBe(400);
    expect(malformed.contentType).toMatch(/^application\/problem\+json/);
    expect(malformed.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });

    const unknown = await call(`${api}/schedules/00000000-0000-4000-8000-000000000000/seats`, { fan: a });
    expect(unknown.status).toBe(404);
    expect(unknown.contentType).toMatch(/^application\/problem\+json/);
    expect(unknown.body).toMatchObject({ status: 404, code: 'NOT_FOUND' });

    const badHold = await call(`${api}/reservations`, { method: 'POST', fan: a, body: { scheduleId: 'not-a-uuid', seatNo: 1 } });
    expect(badHold.status).toBe(400);
    expect(badHold.contentType).toMatch(/^application\/problem\+json/);
    const unknownHold = await call(`${api}/reservations`, { method: 'POST', fan: a, body: { scheduleId: '00000000-0000-4000-8000-000000000000', seatNo: 1 } });
    expect(unknownHold.status).toBe(404);
    expect(unknownHold.contentType).toMatch(/^application\/problem\+json/);
  });
});
