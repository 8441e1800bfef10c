import { z } from 'zod';
import { ids, money } from './primitives';

export const paymentCompletedV1 = z.object({
  paymentId: ids.payment,
  userId: ids.user,
  reservationId: ids.reservation,
  amount: money,
  /** The sale the payer was admitted to and the queue ticket of that admission: the gateway frees exactly that slot (absent on payments made before sales existed). */
  concertId: ids.concert.optional(),
  queueTicket: z.number().int().min(1).optional(),
});
export const paymentFailedV1 = z.object({
  paymentId: ids.payment,
  userId: ids.user,
  reservationId: ids.reservation,
  reason: z.enum(['INSUFFICIENT_BALANCE', 'HOLD_EXPIRED', 'NOT_HOLDER', 'ALREADY_SOLD', 'UNKNOWN_RESERVATION', 'TIMED_OUT']),
});
