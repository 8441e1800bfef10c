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

/** `concertId`: the concert of the hold's date, so the payment service can refuse paying it under another sale's admission (absent on holds made before sales existed). */
export const reservationHeldV1 = z.object({ ...seatFact, price: money, holdExpiresAt: isoTime, concertId: ids.concert.optional() });
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
