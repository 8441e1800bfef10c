import { z } from 'zod';
import { ids, money } from './primitives';

export const paymentCompletedV1 = z.object({
  paymentId: ids.payment,
  userId: ids.user,
  reservationId: ids.reservation,
  amount: money,
});
export const paymentFailedV1 = z.object({
  paymentId: ids.payment,
  userId: ids.user,
  reservationId: ids.reservation,
  reason: z.enum(['INSUFFICIENT_BALANCE', 'HOLD_EXPIRED', 'NOT_HOLDER', 'ALREADY_SOLD', 'UNKNOWN_RESERVATION', 'TIMED_OUT']),
});
