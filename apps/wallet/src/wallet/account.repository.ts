import type { LedgerEntry, LedgerKind } from '@ticketing/contracts';
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/** The unique index on a charge's (user_id, idempotency_key): one CHARGE line per key, ever. */
export const LEDGER_CHARGE_KEY_INDEX = 'ledger_charge_key_idx';

/** Whether `error` is PostgreSQL refusing a second CHARGE line for one user and Idempotency-Key. */
export function isDuplicateCharge(error: unknown): boolean {
  const e = error as { code?: string; constraint?: string };
  return e?.code === '23505' && e.constraint === LEDGER_CHARGE_KEY_INDEX;
}

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

/** The ledger line of a balance change; its `balance_after` is the account write's result. */
export interface BalanceChange {
  transactionId: string;
  userId: string;
  kind: LedgerKind;
  amount: number;
  paymentId?: string | null;
  idempotencyKey?: string | null;
}

const lineParams = (c: BalanceChange) => ({
  transactionId: c.transactionId,
  userId: c.userId,
  kind: c.kind,
  amount: c.amount,
  paymentId: c.paymentId ?? null,
  idempotencyKey: c.idempotencyKey ?? null,
});

// The ledger line is inserted by the same statement, from the account row the write returned: one
// round trip, and the line's id is taken while the account row is locked, so ids follow balance order.
const APPEND_LINE = `insert into ledger (transaction_id, user_id, kind, amount, balance_after, payment_id, idempotency_key)
  select :transactionId, :userId, :kind, :amount, balance, :paymentId, :idempotencyKey from changed
  returning balance_after`;

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
  /** Adds the change's amount (creating the account on first use) and appends its ledger line; the new balance. */
  async credit(trx: Knex.Transaction, change: BalanceChange): Promise<number> {
    const { rows } = await trx.raw(
      `with changed as (
         insert into accounts as a (user_id, balance, updated_at) values (:userId, :amount, now())
         on conflict (user_id) do update set balance = a.balance + excluded.balance, updated_at = now()
         returning balance
       ) ${APPEND_LINE}`,
      lineParams(change),
    );
    return rows[0].balance_after as number;
  },

  /**
   * Takes the change's amount only if the balance covers it (one conditional update: never below
   * zero, no read-then-write) and appends its ledger line; the new balance, or undefined (nothing changed).
   */
  async debitIfCovered(trx: Knex.Transaction, change: BalanceChange): Promise<number | undefined> {
    const { rows } = await trx.raw(
      `with changed as (
         update accounts set balance = balance - :amount, updated_at = now() where user_id = :userId and balance >= :amount
         returning balance
       ) ${APPEND_LINE}`,
      lineParams(change),
    );
    return rows[0]?.balance_after as number | undefined;
  },

  /** The balance as it is (0 for a user without an account); never used to decide a write. */
  async find(db: Db, userId: string): Promise<{ balance: number; updatedAt: Date | null }> {
    const row = await db('accounts').where({ user_id: userId }).first('balance', 'updated_at');
    return row ? { balance: row.balance as number, updatedAt: row.updated_at as Date } : { balance: 0, updatedAt: null };
  },
};

/** The append-only ledger: one line per balance change, written by `accountRepository`. */
export const ledgerRepository = {
  /** The CHARGE line a user's Idempotency-Key made, if any. */
  async chargeByKey(db: Db, userId: string, idempotencyKey: string): Promise<LedgerEntry | undefined> {
    const row: LedgerRow | undefined = await db('ledger').where({ user_id: userId, idempotency_key: idempotencyKey, kind: 'CHARGE' }).first();
    return row && toEntry(row);
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
