import { confirmOutcome, holdRefusal, seatKey } from './reservation.domain';

const schedule = { seatCount: 50, bookingOpensAt: new Date('2026-01-01T00:00:00Z'), bookingClosesAt: new Date('2026-02-01T00:00:00Z') };
const inWindow = new Date('2026-01-15T00:00:00Z');

describe('holdRefusal', () => {
  it('names why a hold matched no seat', () => {
    expect(holdRefusal(undefined, false, 1, inWindow)).toBe('SCHEDULE_NOT_FOUND');
    expect(holdRefusal(schedule, false, 51, inWindow)).toBe('SEAT_OUT_OF_RANGE');
    expect(holdRefusal(schedule, false, 7, inWindow)).toBe('SEAT_NOT_FOUND');
    expect(holdRefusal(schedule, true, 7, new Date('2026-03-01T00:00:00Z'))).toBe('BOOKING_CLOSED');
    expect(holdRefusal(schedule, true, 7, new Date('2025-12-31T00:00:00Z'))).toBe('BOOKING_CLOSED');
    expect(holdRefusal(schedule, true, 7, inWindow)).toBe('SEAT_UNAVAILABLE');
  });
});

describe('confirmOutcome', () => {
  const request = { userId: 'u1', paymentId: 'p1' };
  it('rejects unknown, foreign, sold-to-another and lost holds', () => {
    expect(confirmOutcome(undefined, request)).toEqual({ rejected: 'UNKNOWN_RESERVATION' });
    expect(confirmOutcome({ userId: 'u2', status: 'HELD', paymentId: null }, request)).toEqual({ rejected: 'NOT_HOLDER' });
    expect(confirmOutcome({ userId: 'u1', status: 'SOLD', paymentId: 'p2' }, request)).toEqual({ rejected: 'ALREADY_SOLD' });
    expect(confirmOutcome({ userId: 'u1', status: 'EXPIRED', paymentId: null }, request)).toEqual({ rejected: 'HOLD_EXPIRED' });
    expect(confirmOutcome({ userId: 'u1', status: 'CANCELLED', paymentId: null }, request)).toEqual({ rejected: 'HOLD_EXPIRED' });
    expect(confirmOutcome({ userId: 'u1', status: 'HELD', paymentId: null }, request)).toEqual({ rejected: 'HOLD_EXPIRED' });
  });
  it('confirms again for the payment that already won', () => {
    expect(confirmOutcome({ userId: 'u1', status: 'SOLD', paymentId: 'p1' }, request)).toEqual({ confirmedAgain: true });
  });
  it('keys seat facts by seat', () => {
    expect(seatKey('s', 3)).toBe('s:3');
  });
});
