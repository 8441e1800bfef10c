import { z } from 'zod';
import { ids, isoTime, money, seatNo } from './primitives';

/** Seat facts carry the seat row's version so read models can ignore stale or reordered events. */
const seatFact = {
  reservationId: ids.reservation,
  scheduleId: ids.schedule,
  seatNo,
  userId: ids.user,
  seatVersion: z.number().int().min(1),
};

export const reservationHeldV1 = z.object({ ...seatFact, price: money, holdExpiresAt: isoTime });
export const reservationCancelledV1 = z.object(seatFact);
export const holdExpiredV1 = z.object(seatFact);
export const reservationConfirmedV1 = z.object({ ...seatFact, paymentId: ids.payment });
export const reservationConfirmRejectedV1 = z.object({
  reservationId: ids.reservation,
  paymentId: ids.payment,
  reason: z.enum(['HOLD_EXPIRED', 'NOT_HOLDER', 'ALREADY_SOLD', 'UNKNOWN_RESERVATION']),
});
export const reservationConfirmRequestedV1 = z.object({
  paymentId: ids.payment,
  reservationId: ids.reservation,
  userId: ids.user,
});
