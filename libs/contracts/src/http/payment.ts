import { z } from './zod';
import { ids, isoTime, money } from '../events/primitives';

/**
 * Where a checkout saga stands. STARTED: debit asked of the wallet; DEBITED: money taken, seat
 * confirmation asked of the reservation service; COMPENSATING: the seat could not be confirmed,
 * refund asked; COMPLETED and FAILED are final.
 */
export const PAYMENT_STATUSES = ['STARTED', 'DEBITED', 'COMPENSATING', 'COMPLETED', 'FAILED'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];
export const TERMINAL_PAYMENT_STATUSES: readonly PaymentStatus[] = ['COMPLETED', 'FAILED'];

export const PAYMENT_FAILURE_REASONS = ['INSUFFICIENT_BALANCE', 'HOLD_EXPIRED', 'NOT_HOLDER', 'ALREADY_SOLD', 'UNKNOWN_RESERVATION', 'TIMED_OUT'] as const;
export type PaymentFailureReason = (typeof PAYMENT_FAILURE_REASONS)[number];

/** POST /api/v1/payments (+ `Idempotency-Key`): pay for one of my holds from my wallet. */
export const createPaymentRequest = z
  .object({ reservationId: ids.reservation.openapi({ example: '0b7a3c2e-51f4-4d0a-9a63-3f1e2d4c5b6a' }) })
  .strict()
  .openapi('CreatePaymentRequest');
export type CreatePaymentRequest = z.infer<typeof createPaymentRequest>;

export const paymentIdParams = z.object({ paymentId: ids.payment }).openapi('PaymentIdParams');

/**
 * A payment as its owner sees it. `stalled` is true when a step has gone unanswered past the
 * saga's patience: the saga keeps retrying, and operators see it in `payment_sagas_stalled`.
 */
export const paymentView = z
  .object({
    paymentId: ids.payment,
    reservationId: ids.reservation,
    status: z.enum(PAYMENT_STATUSES),
    amount: money,
    failureReason: z.enum(PAYMENT_FAILURE_REASONS).nullable(),
    refunded: z.boolean(),
    stalled: z.boolean(),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .openapi('Payment');
export type PaymentView = z.infer<typeof paymentView>;
