import type { ReservationStatus } from '@ticketing/contracts';

/** Kafka key of every seat fact: the seat is the aggregate, so its events stay in order. */
export const seatKey = (scheduleId: string, seatNo: number): string => `${scheduleId}:${seatNo}`;

export type HoldRefusal = 'SCHEDULE_NOT_FOUND' | 'BOOKING_CLOSED' | 'SEAT_OUT_OF_RANGE' | 'SEAT_NOT_FOUND' | 'SEAT_UNAVAILABLE';

/**
 * Why a hold's conditional write matched no row, from what the schedule and seat look like now.
 * Only used after the write failed, to name the error: it never decides a write.
 */
export function holdRefusal(
  schedule: { seatCount: number; bookingOpensAt: Date; bookingClosesAt: Date } | undefined,
  seatExists: boolean,
  seatNo: number,
  now: Date,
): HoldRefusal {
  if (!schedule) return 'SCHEDULE_NOT_FOUND';
  if (seatNo > schedule.seatCount) return 'SEAT_OUT_OF_RANGE';
  if (!seatExists) return 'SEAT_NOT_FOUND';
  if (now < schedule.bookingOpensAt || now >= schedule.bookingClosesAt) return 'BOOKING_CLOSED';
  return 'SEAT_UNAVAILABLE';
}

export type ConfirmRejection = 'HOLD_EXPIRED' | 'NOT_HOLDER' | 'ALREADY_SOLD' | 'UNKNOWN_RESERVATION';

/**
 * What a confirm-requested whose conditional write matched nothing gets back. A reservation already
 * SOLD to the same payment is confirmed again (a redelivered or re-sent request), never rejected.
 */
export function confirmOutcome(
  reservation: { userId: string; status: ReservationStatus; paymentId: string | null } | undefined,
  request: { userId: string; paymentId: string },
): { confirmedAgain: true } | { rejected: ConfirmRejection } {
  if (!reservation) return { rejected: 'UNKNOWN_RESERVATION' };
  if (reservation.userId !== request.userId) return { rejected: 'NOT_HOLDER' };
  if (reservation.status === 'SOLD') return reservation.paymentId === request.paymentId ? { confirmedAgain: true } : { rejected: 'ALREADY_SOLD' };
  // EXPIRED, CANCELLED, or HELD past its deadline and about to be swept: the hold is gone.
  return { rejected: 'HOLD_EXPIRED' };
}
