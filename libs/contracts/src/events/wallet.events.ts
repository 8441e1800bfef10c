import { z } from 'zod';
import { ids, money } from './primitives';

export const walletDebitRequestedV1 = z.object({ paymentId: ids.payment, userId: ids.user, amount: money });
export const walletDebitedV1 = z.object({ paymentId: ids.payment, userId: ids.user, amount: money, balance: money });
export const walletDebitRejectedV1 = z.object({
  paymentId: ids.payment,
  userId: ids.user,
  amount: money,
  reason: z.enum(['INSUFFICIENT_BALANCE']),
});
export const walletRefundRequestedV1 = z.object({ paymentId: ids.payment, userId: ids.user, amount: money });
export const walletRefundedV1 = z.object({ paymentId: ids.payment, userId: ids.user, amount: money, balance: money });
