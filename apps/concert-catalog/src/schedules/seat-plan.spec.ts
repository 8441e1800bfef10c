import type { CreateScheduleRequest } from '@ticketing/contracts';
import { planSeats } from './seat-plan';

const base: CreateScheduleRequest = {
  startsAt: '2030-01-10T19:00:00Z',
  bookingOpensAt: '2030-01-01T00:00:00Z',
  bookingClosesAt: '2030-01-10T18:00:00Z',
  seatCount: 10,
};

describe('planSeats', () => {
  it('prices every seat with one price', () => {
    const plan = planSeats({ ...base, price: 50_000 });
    expect(plan).toEqual({ ok: true, seats: Array.from({ length: 10 }, (_, i) => ({ seatNo: i + 1, price: 50_000 })) });
  });

  it('prices seats by sections given in any order', () => {
    const plan = planSeats({ ...base, priceSections: [{ fromSeat: 4, toSeat: 10, price: 80 }, { fromSeat: 1, toSeat: 3, price: 120 }] });
    if (!plan.ok) throw new Error(JSON.stringify(plan.problems));
    expect(plan.seats.map((s) => s.seatNo)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(plan.seats.map((s) => s.price)).toEqual([120, 120, 120, 80, 80, 80, 80, 80, 80, 80]);
  });

  it.each([
    ['overlapping sections', { priceSections: [{ fromSeat: 1, toSeat: 5, price: 1 }, { fromSeat: 5, toSeat: 10, price: 2 }] }, /overlaps/],
    ['a gap between sections', { priceSections: [{ fromSeat: 1, toSeat: 4, price: 1 }, { fromSeat: 6, toSeat: 10, price: 2 }] }, /seats 5..5 without a price/],
    ['sections not reaching the last seat', { priceSections: [{ fromSeat: 1, toSeat: 9, price: 1 }] }, /seats 10..10 without a price/],
    ['sections not starting at seat 1', { priceSections: [{ fromSeat: 2, toSeat: 10, price: 1 }] }, /seats 1..1 without a price/],
    ['a section past the last seat', { priceSections: [{ fromSeat: 1, toSeat: 11, price: 1 }] }, /seats end at 10/],
    ['a reversed section', { priceSections: [{ fromSeat: 10, toSeat: 1, price: 1 }] }, /fromSeat must not be after toSeat/],
    ['both price and sections', { price: 1, priceSections: [{ fromSeat: 1, toSeat: 10, price: 1 }] }, /exactly one/],
    ['neither price nor sections', {}, /exactly one/],
    ['booking closing before it opens', { price: 1, bookingClosesAt: '2029-12-31T00:00:00Z' }, /after bookingOpensAt/],
    ['booking closing after the show starts', { price: 1, bookingClosesAt: '2030-01-10T19:00:01Z' }, /not be after startsAt/],
  ])('refuses %s', (_label, change, message) => {
    const plan = planSeats({ ...base, ...change } as CreateScheduleRequest);
    expect(plan.ok).toBe(false);
    if (!plan.ok) expect(plan.problems.map((p) => p.message).join('; ')).toMatch(message);
  });
});
