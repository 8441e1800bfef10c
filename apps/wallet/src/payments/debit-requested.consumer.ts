import { newId } from '@ticketing/db';
import { NonRetriableError, type EventHandlers, type NewEvent, type OutboxWriter } from '@ticketing/messaging';
import type { Logger } from '@ticketing/telemetry';
import type { Knex } from 'knex';
import { accountRepository as accounts } from '../wallet/account.repository';
import { paymentDecisionRepository as decisions, type PaymentDecision } from './payment-decision.repository';

/** The reply that announces a debit decision; the same decision always gives the same reply. */
export function debitReply(d: PaymentDecision): NewEvent<'wallet.debited'> | NewEvent<'wallet.debit-rejected'> {
  const base = { paymentId: d.paymentId, userId: d.userId, amount: d.amount };
  return d.outcome === 'APPLIED'
    ? { type: 'wallet.debited', key: d.paymentId, payload: { ...base, balance: d.balance } }
    : { type: 'wallet.debit-rejected', key: d.paymentId, payload: { ...base, reason: 'INSUFFICIENT_BALANCE' } };
}

/**
 * `wallet.debit-requested` from the checkout saga, decided once per payment: a conditional update
 * takes the money only if the balance covers it (never below zero, no read-then-write), with its
 * ledger line, the decision and `wallet.debited` in the consumer's transaction; otherwise the
 * decision REJECTED and `wallet.debit-rejected`. A repeated request (the saga re-sends with a new
 * message id when a reply is late) re-emits the recorded decision and changes nothing: a rejection
 * stays a rejection even if money arrived since.
 */
export function debitRequestedHandlers(outbox: OutboxWriter, logger: Logger): EventHandlers {
  const log = logger.child({ component: 'debit-requested' });
  return {
    'wallet.debit-requested': async (event, { trx }) => {
      const { paymentId, userId, amount } = event.payload;
      const causation = { correlationId: event.correlationId, causationId: event.id };
      const reply = async (d: PaymentDecision) => {
        await outbox.append(trx, { ...debitReply(d), ...causation });
      };

      const decided = await decisions.findForUpdate(trx, paymentId, 'DEBIT');
      if (decided) {
        if (decided.userId !== userId || decided.amount !== amount) {
          log.warn({ paymentId, decided: { userId: decided.userId, amount: decided.amount }, requested: { userId, amount } }, 'repeated debit request differs from the decided one; re-announcing the decision');
        }
        await reply(decided);
        return;
      }
      if (amount <= 0) throw new NonRetriableError(`debit of ${amount} for payment ${paymentId}: a debit must be positive`);
      await reply(await decideDebit(trx, { paymentId, userId, amount }));
    },
  };
}

async function decideDebit(trx: Knex.Transaction, { paymentId, userId, amount }: { paymentId: string; userId: string; amount: number }): Promise<PaymentDecision> {
  const balance = await accounts.debitIfCovered(trx, { transactionId: newId(), userId, kind: 'DEBIT', amount, paymentId });
  if (balance === undefined) {
    const rejected: PaymentDecision = { paymentId, op: 'DEBIT', outcome: 'REJECTED', userId, amount, balance: (await accounts.find(trx, userId)).balance };
    await decisions.record(trx, rejected);
    return rejected;
  }
  const applied: PaymentDecision = { paymentId, op: 'DEBIT', outcome: 'APPLIED', userId, amount, balance };
  await decisions.record(trx, applied);
  return applied;
}
