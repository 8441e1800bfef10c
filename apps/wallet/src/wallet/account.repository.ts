import type { LedgerEntry, LedgerKind } from '@ticketing/contracts';
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

interface LedgerRow {
  id: number;
  transaction_id: string;
  user_id: string;
  kind: LedgerKind;
  amount: number;
  balance_after: number;
  payment_id: string | null;
  idempotency_key: string | null;
  created_at: Date;
}

/** A ledger line to append; `balanceAfter` comes from the account write in the same transaction. */
export interface NewLedgerLine {
  transactionId: string;
  userId: string;
  kind: LedgerKind;
  amount: number;
  balanceAfter: number;
  paymentId?: string | null;
  idempotencyKey?: string | null;
}

const toEntry = (r: LedgerRow): LedgerEntry => ({
  transactionId: r.transaction_id,
  kind: r.kind,
  amount: r.amount,
  balanceAfter: r.balance_after,
  paymentId: r.payment_id,
  idempotencyKey: r.idempotency_key,
  createdAt: r.created_at.toISOString(),
});

/**
 * SQL of the account aggregate. Every balance change is one conditional write on the account row
 * (its row lock orders one account's changes, so ledger ids follow balance order) and is always
 * written together with its ledger line in the caller's transaction.
 */
export const accountRepository = {
  /** Adds `amount`, creating the account on first use; the new balance. */
  async credit(trx: Knex.Transaction, userId: string, amount: number): Promise<number> {
    const { rows } = await trx.raw(
      `insert into accounts as a (user_id, balance, updated_at) values (?, ?, now())
       on conflict (user_id) do update set balance = a.balance + excluded.balance, updated_at = now()
       returning balance`,
      [userId, amount],
    );
    return rows[0].balance as number;
  },

  /** Takes `amount` only if the balance covers it; the new balance, or undefined (nothing changed). */
  async debitIfCovered(trx: Knex.Transaction, userId: string, amount: number): Promise<number | undefined> {
    const { rows } = await trx.raw(`update accounts set balance = balance - ?, updated_at = now() where user_id = ? and balance >= ? returning balance`, [
      amount,
      userId,
      amount,
    ]);
    return rows[0]?.balance as number | undefined;
  },

  /** The balance as it is (0 for a user without an account); never used to decide a write. */
  async find(db: Db, userId: string): Promise<{ balance: number; updatedAt: Date | null }> {
    const row = await db('accounts').where({ user_id: userId }).first('balance', 'updated_at');
    return row ? { balance: row.balance as number, updatedAt: row.updated_at as Date } : { balance: 0, updatedAt: null };
  },
};

/** The append-only ledger: one line per balance change. */
export const ledgerRepository = {
  async append(trx: Knex.Transaction, line: NewLedgerLine): Promise<void> {
    await trx('ledger').insert({
      transaction_id: line.transactionId,
      user_id: line.userId,
      kind: line.kind,
      amount: line.amount,
      balance_after: line.balanceAfter,
      payment_id: line.paymentId ?? null,
      idempotency_key: line.idempotencyKey ?? null,
    });
  },

  /** One user's lines, newest first, older than the `before` cursor; `nextCursor` when more remain. */
  async page(db: Db, userId: string, { limit, before }: { limit: number; before?: string }): Promise<{ entries: LedgerEntry[]; nextCursor: string | null }> {
    const rows: LedgerRow[] = await db('ledger')
      .where({ user_id: userId })
      .modify((q) => (before ? q.andWhere('id', '<', before) : q))
      .orderBy('id', 'desc')
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    return { entries: page.map(toEntry), nextCursor: rows.length > limit ? String(page[page.length - 1].id) : null };
  },
};

/** A user whose balance is not Σ charges − Σ debits + Σ refunds of their ledger (there must be none). */
export interface ConservationViolation {
  userId: string;
  balance: number;
  ledgerSum: number;
}

/**
 * Money conservation, checked in SQL: every account's balance equals the sum of its ledger, every
 * ledger line's user has an account, and each line's balance_after continues the previous one.
 */
export async function conservationViolations(db: Db): Promise<ConservationViolation[]> {
  const { rows } = await db.raw(
    `with sums as (
       select user_id, sum(case kind when 'DEBIT' then -amount else amount end) as ledger_sum
         from ledger group by user_id
     ), chained as (
       select user_id, balance_after, amount, kind,
              lag(balance_after, 1, 0::bigint) over (partition by user_id order by id) as before
         from ledger
     ), broken_chain as (
       select distinct user_id from chained
        where balance_after <> before + case kind when 'DEBIT' then -amount else amount end
     )
     select coalesce(a.user_id, s.user_id) as user_id, coalesce(a.balance, 0) as balance, coalesce(s.ledger_sum, 0)::bigint as ledger_sum
       from accounts a full join sums s on s.user_id = a.user_id
      where coalesce(a.balance, 0) <> coalesce(s.ledger_sum, 0)
         or coalesce(a.user_id, s.user_id) in (select user_id from broken_chain)`,
  );
  return rows.map((r: { user_id: string; balance: number; ledger_sum: number }) => ({ userId: r.user_id, balance: Number(r.balance), ledgerSum: Number(r.ledger_sum) }));
}
