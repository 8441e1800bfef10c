import { newId } from '@ticketing/db';
import { NonRetriableError, type EventHandlers, type OutboxWriter } from '@ticketing/messaging';
import type { Logger } from '@ticketing/telemetry';
import { accountRepository as accounts } from '../wallet/account.repository';
import { paymentDecisionRepository as decisions, type PaymentDecision } from './payment-decision.repository';

/**
 * `wallet.refund-requested` from the saga's compensation: gives back exactly what the payment's
 * applied debit took, to the account it came from, once per payment (ledger line, balance, decision
 * and `wallet.refunded` in the consumer's transaction). A repeated request re-emits the recorded
 * refund. A refund for a payment without an applied debit is a saga bug: NonRetriableError, so the
 * message is dead-lettered where someone will look, and no money is created.
 */
export function refundRequestedHandlers(outbox: OutboxWriter, logger: Logger): EventHandlers {
  const log = logger.child({ component: 'refund-requested' });
  return {
    'wallet.refund-requested': async (event, { trx }) => {
      const { paymentId, userId, amount } = event.payload;
      const causation = { correlationId: event.correlationId, causationId: event.id };
      const reply = (d: PaymentDecision) =>
        outbox.append(trx, { type: 'wallet.refunded', key: paymentId, payload: { paymentId, userId: d.userId, amount: d.amount, balance: d.balance }, ...causation });

      // Locking the debit decision serialises refunds of one payment.
      const debit = await decisions.findForUpdate(trx, paymentId, 'DEBIT');
      if (debit?.outcome !== 'APPLIED') {
        throw new NonRetriableError(`refund requested for payment ${paymentId}, which has ${debit ? 'a rejected debit' : 'no debit'}: nothing to give back`);
      }
      if (debit.userId !== userId || debit.amount !== amount) {
        log.warn({ paymentId, debited: { userId: debit.userId, amount: debit.amount }, requested: { userId, amount } }, 'refund request differs from the debit; refunding what was debited');
      }
      const refunded = await decisions.findForUpdate(trx, paymentId, 'REFUND');
      if (refunded) {
        await reply(refunded);
        return;
      }

      const balance = await accounts.credit(trx, { transactionId: newId(), userId: debit.userId, kind: 'REFUND', amount: debit.amount, paymentId });
      const decision: PaymentDecision = { paymentId, op: 'REFUND', outcome: 'APPLIED', userId: debit.userId, amount: debit.amount, balance };
      await decisions.record(trx, decision);
      await reply(decision);
    },
  };
}
