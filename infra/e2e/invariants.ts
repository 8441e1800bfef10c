import type { Knex } from 'knex';

/**
 * The money and seat invariants of DESIGN.md (1, 2, 3) checked over the three databases that hold
 * them: payment (payments), wallet (accounts, ledger, payment_decisions) and reservation (seats,
 * reservations). No service reads another's database; a test or a benchmark may, after the fact,
 * to prove that whatever happened (crashes, duplicates, races) nothing was lost or made twice.
 *
 * Per-user sums and the ledger's running balance are checked in SQL (a benchmark's ledger may be
 * large); payments, their debits and refunds, and sold seats are compared row by row.
 */

export interface CheckoutDatabases {
  payment: Knex;
  wallet: Knex;
  reservation: Knex;
}

export interface CheckoutInvariantOptions {
  /** Every payment must be COMPLETED or FAILED (default true; false while a run is still going). */
  requireTerminal?: boolean;
  /**
   * The charges the clients were told succeeded (201), per user id: the ledger must hold exactly
   * these for the users named here (same count, same total).
   */
  expectedCharges?: Map<string, number[]>;
  /** At most this many problems are listed (default 50); the rest are counted. */
  maxProblems?: number;
}

export interface CheckoutInvariantCounts {
  users: number;
  payments: number;
  completed: number;
  failed: number;
  failedInsufficientBalance: number;
  refunded: number;
  inProgress: number;
  charges: number;
  debits: number;
  refunds: number;
  chargedTotal: number;
  debitedTotal: number;
  refundedTotal: number;
  balanceTotal: number;
  soldSeats: number;
  soldReservations: number;
}

export interface CheckoutInvariantReport {
  ok: boolean;
  problems: string[];
  counts: CheckoutInvariantCounts;
}

interface PaymentRow {
  id: string;
  user_id: string;
  reservation_id: string;
  amount: number;
  status: string;
  failure_reason: string | null;
  refunded: boolean;
}
interface MoneyLine {
  user_id: string;
  kind: 'DEBIT' | 'REFUND';
  amount: number;
  payment_id: string;
}
interface DecisionRow {
  payment_id: string;
  op: 'DEBIT' | 'REFUND';
  outcome: 'APPLIED' | 'REJECTED';
  user_id: string;
  amount: number;
}
interface ReservationRow {
  id: string;
  schedule_id: string;
  seat_no: number;
  user_id: string;
  price: number;
  status: string;
  payment_id: string | null;
}
interface SeatRow {
  schedule_id: string;
  seat_no: number;
  status: string;
  reservation_id: string | null;
  holder_user_id: string | null;
}

const num = (v: unknown) => Number(v ?? 0);

/** Checks invariants 1–3 over the payment, wallet and reservation databases; `ok` when `problems` is empty. */
export async function checkCheckoutInvariants(dbs: CheckoutDatabases, options: CheckoutInvariantOptions = {}): Promise<CheckoutInvariantReport> {
  const { requireTerminal = true, expectedCharges, maxProblems = 50 } = options;
  const problems: string[] = [];
  let suppressed = 0;
  const problem = (text: string) => {
    if (problems.length < maxProblems) problems.push(text);
    else suppressed += 1;
  };

  // One query at a time: the databases may be transactions (one connection each).
  const payments: PaymentRow[] = await dbs.payment('payments').select('id', 'user_id', 'reservation_id', 'amount', 'status', 'failure_reason', 'refunded');
  const moneyLines: MoneyLine[] = await dbs.wallet('ledger').whereNotNull('payment_id').select('user_id', 'kind', 'amount', 'payment_id');
  const decisions: DecisionRow[] = await dbs.wallet('payment_decisions').select('payment_id', 'op', 'outcome', 'user_id', 'amount');
  // balance = Σ charges − Σ debits + Σ refunds, per account and per ledger user (either side may be missing).
  const perUser: Record<string, unknown>[] = (
    await dbs.wallet.raw(
      `with sums as (
         select user_id,
                coalesce(sum(amount) filter (where kind = 'CHARGE'), 0) as charged,
                coalesce(sum(amount) filter (where kind = 'DEBIT'), 0) as debited,
                coalesce(sum(amount) filter (where kind = 'REFUND'), 0) as refunded,
                count(*) filter (where kind = 'CHARGE') as charges
           from ledger group by user_id)
       select coalesce(a.user_id, s.user_id) as user_id, a.balance, s.charged, s.debited, s.refunded, s.charges
         from accounts a full join sums s on s.user_id = a.user_id`,
    )
  ).rows;
  // Each ledger line's balance_after follows from the one before it (per user, in ledger order).
  const chain: Record<string, unknown>[] = (
    await dbs.wallet.raw(
      `select user_id, id, kind, amount, balance_after, previous from (
         select user_id, id, kind, amount, balance_after,
                lag(balance_after, 1, 0::bigint) over (partition by user_id order by id) as previous
           from ledger) l
        where balance_after <> previous + case when kind = 'DEBIT' then -amount else amount end
        limit 20`,
    )
  ).rows;
  const chargeTotals: { user_id: string; n: unknown; total: unknown }[] = expectedCharges?.size
    ? await dbs.wallet('ledger')
        .where({ kind: 'CHARGE' })
        .whereIn('user_id', [...expectedCharges.keys()])
        .groupBy('user_id')
        .select('user_id', dbs.wallet.raw('count(*) as n'), dbs.wallet.raw('sum(amount) as total'))
    : [];
  const reservations: ReservationRow[] = await dbs.reservation('reservations')
    .where((q) => q.where({ status: 'SOLD' }).orWhereNotNull('payment_id'))
    .select('id', 'schedule_id', 'seat_no', 'user_id', 'price', 'status', 'payment_id');
  const seats: SeatRow[] = await dbs.reservation('seats').where({ status: 'SOLD' }).select('schedule_id', 'seat_no', 'status', 'reservation_id', 'holder_user_id');

  // Wallet: balances against the ledger.
  let chargedTotal = 0;
  let balanceTotal = 0;
  let charges = 0;
  for (const u of perUser) {
    const charged = num(u.charged);
    const expected = charged - num(u.debited) + num(u.refunded);
    chargedTotal += charged;
    charges += num(u.charges);
    balanceTotal += num(u.balance);
    if (u.balance === null || u.balance === undefined) problem(`user ${String(u.user_id)} has ledger lines but no account`);
    else if (num(u.balance) !== expected) {
      problem(`user ${String(u.user_id)}: balance ${num(u.balance)} ≠ charges ${charged} − debits ${num(u.debited)} + refunds ${num(u.refunded)} = ${expected}`);
    }
  }
  for (const line of chain) {
    problem(`ledger line ${String(line.id)} of user ${String(line.user_id)} (${String(line.kind)} ${num(line.amount)}): balance_after ${num(line.balance_after)} does not follow from the line before (${num(line.previous)})`);
  }
  if (expectedCharges) {
    const found = new Map(chargeTotals.map((c) => [c.user_id, { n: num(c.n), total: num(c.total) }]));
    for (const [userId, amounts] of expectedCharges) {
      const want = { n: amounts.length, total: amounts.reduce((a, b) => a + b, 0) };
      const got = found.get(userId) ?? { n: 0, total: 0 };
      if (got.n !== want.n || got.total !== want.total) {
        problem(`user ${userId}: the ledger holds ${got.n} charges worth ${got.total}, the client was answered 201 for ${want.n} worth ${want.total}`);
      }
    }
  }

  // Payments, debits, refunds and decisions, matched by payment id.
  const paymentById = new Map(payments.map((p) => [p.id, p]));
  const debitOf = new Map<string, MoneyLine>();
  const refundOf = new Map<string, MoneyLine>();
  for (const line of moneyLines) {
    const seen = line.kind === 'DEBIT' ? debitOf : refundOf;
    if (seen.has(line.payment_id)) problem(`payment ${line.payment_id} has more than one ${line.kind} line`);
    seen.set(line.payment_id, line);
    const p = paymentById.get(line.payment_id);
    if (!p) problem(`${line.kind} of ${num(line.amount)} for user ${line.user_id} names payment ${line.payment_id}, which does not exist`);
    else if (p.user_id !== line.user_id || num(p.amount) !== num(line.amount)) {
      problem(`${line.kind} for payment ${p.id}: user ${line.user_id} amount ${num(line.amount)}, the payment says user ${p.user_id} amount ${num(p.amount)}`);
    }
  }
  for (const [paymentId, refund] of refundOf) {
    const debit = debitOf.get(paymentId);
    if (!debit) problem(`refund of ${num(refund.amount)} for payment ${paymentId} without a debit (money created)`);
    else if (num(debit.amount) !== num(refund.amount) || debit.user_id !== refund.user_id) {
      problem(`refund for payment ${paymentId} (${refund.user_id}, ${num(refund.amount)}) does not give back its debit (${debit.user_id}, ${num(debit.amount)})`);
    }
  }
  const decisionOf = new Map(decisions.map((d) => [`${d.payment_id}/${d.op}`, d]));
  for (const d of decisions) {
    const line = (d.op === 'DEBIT' ? debitOf : refundOf).get(d.payment_id);
    if (d.outcome === 'APPLIED' && !line) problem(`wallet decided ${d.op} APPLIED for payment ${d.payment_id} but its ledger has no ${d.op} line`);
    if (d.outcome === 'REJECTED' && line) problem(`wallet decided ${d.op} REJECTED for payment ${d.payment_id} but its ledger has a ${d.op} line`);
  }

  // Reservations and seats.
  const reservationById = new Map(reservations.map((r) => [r.id, r]));
  const soldReservations = reservations.filter((r) => r.status === 'SOLD');
  const soldPerSeat = new Map<string, ReservationRow[]>();
  for (const r of soldReservations) {
    const key = `${r.schedule_id}#${r.seat_no}`;
    soldPerSeat.set(key, [...(soldPerSeat.get(key) ?? []), r]);
  }
  for (const [seat, sold] of soldPerSeat) {
    if (sold.length > 1) problem(`seat ${seat} sold ${sold.length} times: reservations ${sold.map((r) => `${r.id} (user ${r.user_id}, payment ${r.payment_id})`).join(', ')}`);
  }
  const seatByReservation = new Map(seats.filter((s) => s.reservation_id).map((s) => [s.reservation_id!, s]));
  for (const s of seats) {
    const r = s.reservation_id ? reservationById.get(s.reservation_id) : undefined;
    if (!r || r.status !== 'SOLD') problem(`seat ${s.schedule_id}#${s.seat_no} is SOLD but its reservation ${s.reservation_id} is ${r?.status ?? 'missing'}`);
    else if (r.schedule_id !== s.schedule_id || r.seat_no !== s.seat_no || r.user_id !== s.holder_user_id) {
      problem(`seat ${s.schedule_id}#${s.seat_no} is SOLD to user ${s.holder_user_id} under reservation ${r.id}, which is seat ${r.schedule_id}#${r.seat_no} of user ${r.user_id}`);
    }
  }
  const completedByReservation = new Map<string, PaymentRow[]>();
  for (const p of payments) {
    if (p.status === 'COMPLETED') completedByReservation.set(p.reservation_id, [...(completedByReservation.get(p.reservation_id) ?? []), p]);
  }
  for (const [reservationId, completed] of completedByReservation) {
    if (completed.length > 1) problem(`reservation ${reservationId} paid by ${completed.length} COMPLETED payments: ${completed.map((p) => p.id).join(', ')}`);
  }
  for (const r of soldReservations) {
    const p = r.payment_id ? paymentById.get(r.payment_id) : undefined;
    if (!p || p.status !== 'COMPLETED') problem(`reservation ${r.id} is SOLD with payment ${r.payment_id ?? '(none)'}, which is ${p?.status ?? 'missing'} (a seat sold without a completed payment)`);
    else if (p.reservation_id !== r.id || p.user_id !== r.user_id) problem(`reservation ${r.id} (user ${r.user_id}) is SOLD with payment ${p.id}, which pays reservation ${p.reservation_id} for user ${p.user_id}`);
    if (!seatByReservation.has(r.id)) problem(`reservation ${r.id} is SOLD but seat ${r.schedule_id}#${r.seat_no} is not SOLD under it`);
  }

  // Every payment: terminal, and its money and seat in the one state its outcome allows.
  const counts: CheckoutInvariantCounts = {
    users: perUser.length,
    payments: payments.length,
    completed: 0,
    failed: 0,
    failedInsufficientBalance: 0,
    refunded: 0,
    inProgress: 0,
    charges,
    debits: debitOf.size,
    refunds: refundOf.size,
    chargedTotal,
    debitedTotal: [...debitOf.values()].reduce((a, l) => a + num(l.amount), 0),
    refundedTotal: [...refundOf.values()].reduce((a, l) => a + num(l.amount), 0),
    balanceTotal,
    soldSeats: seats.length,
    soldReservations: soldReservations.length,
  };
  for (const p of payments) {
    const debit = debitOf.get(p.id);
    const refund = refundOf.get(p.id);
    const label = `payment ${p.id} (${p.status}${p.failure_reason ? ` ${p.failure_reason}` : ''}${p.refunded ? ', refunded' : ''})`;
    switch (p.status) {
      case 'COMPLETED': {
        counts.completed += 1;
        const r = reservationById.get(p.reservation_id);
        if (!debit) problem(`${label}: no debit (a seat given away)`);
        if (refund) problem(`${label}: refunded although completed (paid for a seat and got the money back)`);
        if (!r || r.status !== 'SOLD' || r.payment_id !== p.id) problem(`${label}: its reservation ${p.reservation_id} is ${r ? `${r.status} with payment ${r.payment_id}` : 'not sold'}, not SOLD to this payment`);
        else if (num(r.price) !== num(p.amount)) problem(`${label}: amount ${num(p.amount)} ≠ the reservation's price ${num(r.price)}`);
        break;
      }
      case 'FAILED': {
        counts.failed += 1;
        if (p.refunded) {
          counts.refunded += 1;
          if (!debit || !refund) problem(`${label}: marked refunded but the ledger has ${debit ? 'a debit' : 'no debit'} and ${refund ? 'a refund' : 'no refund'}`);
        } else {
          if (p.failure_reason === 'INSUFFICIENT_BALANCE') counts.failedInsufficientBalance += 1;
          if (debit) problem(`${label}: debited ${num(debit.amount)} and never refunded${refund ? ' (a refund line exists but the payment does not know it)' : ''}`);
          if (p.failure_reason === 'INSUFFICIENT_BALANCE' && decisionOf.get(`${p.id}/DEBIT`)?.outcome !== 'REJECTED') {
            problem(`${label}: failed for want of money, but the wallet's debit decision is ${decisionOf.get(`${p.id}/DEBIT`)?.outcome ?? 'missing'}`);
          }
        }
        const r = reservationById.get(p.reservation_id);
        if (r?.payment_id === p.id) problem(`${label}: its reservation ${r.id} is ${r.status} with this failed payment`);
        break;
      }
      default:
        counts.inProgress += 1;
        if (requireTerminal) problem(`${label}: not terminal`);
        if (refund && p.status !== 'COMPENSATING') problem(`${label}: refunded while ${p.status}`);
    }
  }
  if (suppressed) problems.push(`… and ${suppressed} more problems`);
  return { ok: problems.length === 0, problems, counts };
}
