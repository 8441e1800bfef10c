import type { Knex } from 'knex';

export type PaymentOp = 'DEBIT' | 'REFUND';
export type PaymentOutcome = 'APPLIED' | 'REJECTED';

/** What the wallet decided for one payment and operation; written once, never changed. */
export interface PaymentDecision {
  paymentId: string;
  op: PaymentOp;
  outcome: PaymentOutcome;
  userId: string;
  amount: number;
  /** The balance right after the decision (after the debit or refund; as it was, for a rejection). */
  balance: number;
}

interface DecisionRow {
  payment_id: string;
  op: PaymentOp;
  outcome: PaymentOutcome;
  user_id: string;
  amount: number;
  balance: number;
}

const toDecision = (r: DecisionRow): PaymentDecision => ({ paymentId: r.payment_id, op: r.op, outcome: r.outcome, userId: r.user_id, amount: r.amount, balance: r.balance });

/**
 * Per-payment decisions: the primary key (payment_id, op) makes each debit and refund happen at most
 * once per payment, whatever message ids the saga's commands arrive with. Two racing deciders cannot
 * both commit: the loser's insert fails, its transaction rolls back, and its retry finds the decision.
 */
export const paymentDecisionRepository = {
  /** The decision, locked until the transaction ends (so a racing refund waits for it). */
  async findForUpdate(trx: Knex.Transaction, paymentId: string, op: PaymentOp): Promise<PaymentDecision | undefined> {
    const row: DecisionRow | undefined = await trx('payment_decisions').where({ payment_id: paymentId, op }).forUpdate().first();
    return row && toDecision(row);
  },

  async record(trx: Knex.Transaction, d: PaymentDecision): Promise<void> {
    await trx('payment_decisions').insert({ payment_id: d.paymentId, op: d.op, outcome: d.outcome, user_id: d.userId, amount: d.amount, balance: d.balance });
  },
};
