import type { PaymentFailureReason, PaymentStatus, PaymentView } from '@ticketing/contracts';
import type { Knex } from 'knex';

export interface PaymentRow {
  id: string;
  user_id: string;
  reservation_id: string;
  amount: number;
  status: PaymentStatus;
  failure_reason: PaymentFailureReason | null;
  refunded: boolean;
  idempotency_key: string;
  trace_context: Record<string, string>;
  correlation_id: string;
  /** The sale (concert) and queue ticket of the payer's admission, for `payment.completed`; null on payments from before sales. */
  sale_concert_id: string | null;
  queue_ticket: number | null;
  step_started_at: Date;
  next_retry_at: Date | null;
  step_attempts: number;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export type NewPayment = Pick<PaymentRow, 'id' | 'user_id' | 'reservation_id' | 'amount' | 'idempotency_key' | 'trace_context' | 'correlation_id'> &
  Partial<Pick<PaymentRow, 'sale_concert_id' | 'queue_ticket'>>;

const UNIQUE_VIOLATION = '23505';

/** Which unique index a failed insert ran into, if any. */
export function uniqueViolation(error: unknown): string | undefined {
  const e = error as { code?: string; constraint?: string };
  return e?.code === UNIQUE_VIOLATION ? e.constraint : undefined;
}

/** Payments and their saga state. Every state change is a conditional update on the expected status. */
export const paymentRepository = {
  async insert(trx: Knex.Transaction, payment: NewPayment, firstRetryInMs: number): Promise<PaymentRow> {
    const [row] = await trx('payments')
      .insert({ ...payment, status: 'STARTED', next_retry_at: trx.raw(`now() + make_interval(secs => ?)`, [firstRetryInMs / 1000]) })
      .returning('*');
    return row as PaymentRow;
  },

  find(db: Knex | Knex.Transaction, id: string): Promise<PaymentRow | undefined> {
    return db('payments').where({ id }).first();
  },

  findByKey(db: Knex | Knex.Transaction, userId: string, idempotencyKey: string): Promise<PaymentRow | undefined> {
    return db('payments').where({ user_id: userId, idempotency_key: idempotencyKey }).first();
  },

  /** The payment that is live or completed for a hold (at most one, by a unique index). */
  findLiveForReservation(db: Knex | Knex.Transaction, reservationId: string): Promise<PaymentRow | undefined> {
    return db('payments').where({ reservation_id: reservationId }).whereNot({ status: 'FAILED' }).first();
  },

  /**
   * Moves the payment from `from` to `to` if it is still in `from` (else undefined: another reply won).
   * A non-final state gets a fresh step clock; a final one stops retries.
   */
  async advance(
    trx: Knex.Transaction,
    id: string,
    from: PaymentStatus,
    change: { to: PaymentStatus; failureReason?: PaymentFailureReason; refunded?: boolean; final: boolean; nextRetryInMs: number },
  ): Promise<PaymentRow | undefined> {
    const [row] = await trx('payments')
      .where({ id, status: from })
      .update({
        status: change.to,
        ...(change.failureReason ? { failure_reason: change.failureReason } : {}),
        ...(change.refunded ? { refunded: true } : {}),
        step_started_at: trx.fn.now(),
        step_attempts: 1,
        next_retry_at: change.final ? null : trx.raw(`now() + make_interval(secs => ?)`, [change.nextRetryInMs / 1000]),
        updated_at: trx.fn.now(),
        ...(change.final ? { finished_at: trx.fn.now() } : {}),
      })
      .returning('*');
    return row as PaymentRow | undefined;
  },

  /** Claims payments whose current step is overdue (SKIP LOCKED: instances share the work without overlap). */
  claimOverdue(trx: Knex.Transaction, limit: number): Promise<PaymentRow[]> {
    return trx('payments')
      .whereIn('status', ['STARTED', 'DEBITED', 'COMPENSATING'])
      .where('next_retry_at', '<=', trx.fn.now())
      .orderBy('next_retry_at')
      .limit(limit)
      .forUpdate()
      .skipLocked();
  },

  async scheduleRetry(trx: Knex.Transaction, id: string, attempts: number, inMs: number): Promise<void> {
    await trx('payments')
      .where({ id })
      .update({ step_attempts: attempts, next_retry_at: trx.raw(`now() + make_interval(secs => ?)`, [inMs / 1000]), updated_at: trx.fn.now() });
  },

  /** Payments whose current step has gone unanswered longer than `stallAfterMs`. */
  async countStalled(db: Knex, stallAfterMs: number): Promise<number> {
    const [{ count }] = await db('payments')
      .whereIn('status', ['STARTED', 'DEBITED', 'COMPENSATING'])
      .where('step_started_at', '<', db.raw(`now() - make_interval(secs => ?)`, [stallAfterMs / 1000]))
      .count<{ count: string }[]>('* as count');
    return Number(count);
  },

  /** Milliseconds until the earliest live payment's step is due (negative: overdue; undefined: none live). */
  async msUntilNextRetry(db: Knex): Promise<number | undefined> {
    const { rows } = await db.raw(
      `select extract(epoch from min(next_retry_at) - now()) * 1000 as ms from payments where status in ('STARTED','DEBITED','COMPENSATING')`,
    );
    return rows[0]?.ms == null ? undefined : Number(rows[0].ms);
  },

  async countInProgress(db: Knex): Promise<number> {
    const [{ count }] = await db('payments').whereIn('status', ['STARTED', 'DEBITED', 'COMPENSATING']).count<{ count: string }[]>('* as count');
    return Number(count);
  },
};

/** What the owner sees. */
export function toPaymentView(row: PaymentRow, stallAfterMs: number, now = Date.now()): PaymentView {
  const final = row.status === 'COMPLETED' || row.status === 'FAILED';
  return {
    paymentId: row.id,
    reservationId: row.reservation_id,
    status: row.status,
    amount: row.amount,
    failureReason: row.failure_reason,
    refunded: row.refunded,
    stalled: !final && now - row.step_started_at.getTime() > stallAfterMs,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
