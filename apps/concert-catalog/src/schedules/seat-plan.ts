import type { CreateScheduleRequest } from '@ticketing/contracts';

export interface PlannedSeat {
  seatNo: number;
  price: number;
}

export interface PlanProblem {
  field: string;
  message: string;
}

export type SeatPlan = { ok: true; seats: PlannedSeat[] } | { ok: false, problems: PlanProblem[] };

/**
 * The cross-field rules of a new schedule, with no I/O: booking opens before it closes and closes no
 * later than the show starts; exactly one of `price` and `priceSections`, the sections covering seats
 * 1..seatCount once each (no gap, no overlap). Returns seats 1..seatCount with their prices.
 */
export function planSeats(request: CreateScheduleRequest): SeatPlan {
  const problems: PlanProblem[] = [];
  const opens = Date.parse(request.bookingOpensAt);
  const closes = Date.parse(request.bookingClosesAt);
  const starts = Date.parse(request.startsAt);
  if (!(opens < closes)) problems.push({ field: 'body.bookingClosesAt', message: 'must be after bookingOpensAt' });
  if (!(closes <= starts)) problems.push({ field: 'body.bookingClosesAt', message: 'must not be after startsAt' });

  const { seatCount, price, priceSections } = request;
  if ((price === undefined) === (priceSections === undefined)) {
    problems.push({ field: 'body.price', message: 'give exactly one of price and priceSections' });
    return { ok: false, problems };
  }
  if (price !== undefined) {
    if (problems.length) return { ok: false, problems };
    return { ok: true, seats: Array.from({ length: seatCount }, (_, i) => ({ seatNo: i + 1, price })) };
  }

  const sections = [...priceSections!].sort((a, b) => a.fromSeat - b.fromSeat);
  let next = 1; // the first seat no section has covered yet
  for (const section of sections) {
    const where = `body.priceSections[${section.fromSeat}..${section.toSeat}]`;
    if (section.fromSeat > section.toSeat) problems.push({ field: where, message: 'fromSeat must not be after toSeat' });
    else if (section.toSeat > seatCount) problems.push({ field: where, message: `seats end at ${seatCount}` });
    else if (section.fromSeat < next) problems.push({ field: where, message: `overlaps seats already priced (up to ${next - 1})` });
    else if (section.fromSeat > next) problems.push({ field: where, message: `leaves seats ${next}..${section.fromSeat - 1} without a price` });
    next = Math.max(next, section.toSeat + 1);
  }
  if (next <= seatCount && problems.length === 0) problems.push({ field: 'body.priceSections', message: `leaves seats ${next}..${seatCount} without a price` });
  if (problems.length) return { ok: false, problems };

  const seats: PlannedSeat[] = [];
  for (const section of sections) for (let n = section.fromSeat; n <= section.toSeat; n++) seats.push({ seatNo: n, price: section.price });
  return { ok: true, seats };
}
