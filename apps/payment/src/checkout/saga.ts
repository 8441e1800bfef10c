import type { PaymentFailureReason, PaymentStatus } from '@ticketing/contracts';

/**
 * The checkout saga as a pure state machine (DESIGN.md):
 *
 *   STARTED ──wallet.debited──▶ DEBITED ──reservation.confirmed──▶ COMPLETED
 *      │                          │
 *   wallet.debit-rejected   reservation.confirm-rejected
 *      ▼                          ▼
 *    FAILED ◀──wallet.refunded── COMPENSATING
 *
 * Each state but the final two has one outstanding command; a reply that does not fit the current
 * state is a duplicate or a late copy and changes nothing.
 */
export type SagaReply =
  | { type: 'wallet.debited' }
  | { type: 'wallet.debit-rejected'; reason: 'INSUFFICIENT_BALANCE' }
  | { type: 'reservation.confirmed' }
  | { type: 'reservation.confirm-rejected'; reason: Exclude<PaymentFailureReason, 'INSUFFICIENT_BALANCE' | 'TIMED_OUT'> }
  | { type: 'wallet.refunded' };

export type SagaCommand = 'wallet.debit-requested' | 'reservation.confirm-requested' | 'wallet.refund-requested';
export type SagaOutcomeEvent = 'payment.completed' | 'payment.failed';

export interface Transition {
  to: PaymentStatus;
  failureReason?: PaymentFailureReason;
  refunded?: true;
  /** What the new state sends: its command, or the saga's outcome. */
  emit: SagaCommand | SagaOutcomeEvent;
}

/** The transition a reply causes in `status`, or null when it does not apply (a duplicate, or a reply to an earlier step). */
export function transition(status: PaymentStatus, reply: SagaReply): Transition | null {
  switch (reply.type) {
    case 'wallet.debited':
      return status === 'STARTED' ? { to: 'DEBITED', emit: 'reservation.confirm-requested' } : null;
    case 'wallet.debit-rejected':
      return status === 'STARTED' ? { to: 'FAILED', failureReason: reply.reason, emit: 'payment.failed' } : null;
    case 'reservation.confirmed':
      return status === 'DEBITED' ? { to: 'COMPLETED', emit: 'payment.completed' } : null;
    case 'reservation.confirm-rejected':
      return status === 'DEBITED' ? { to: 'COMPENSATING', failureReason: reply.reason, emit: 'wallet.refund-requested' } : null;
    case 'wallet.refunded':
      return status === 'COMPENSATING' ? { to: 'FAILED', refunded: true, emit: 'payment.failed' } : null;
  }
}

/**
 * A reply that contradicts what the saga already knows (e.g. `reservation.confirm-rejected` for a
 * COMPLETED payment, `wallet.debited` for one whose debit was refused). The other services decide
 * once per payment, so this means a bug somewhere: it is logged loudly and counted, never applied.
 * A late copy of a reply the saga already acted on is not a contradiction.
 */
export function isContradiction(payment: { status: PaymentStatus; refunded: boolean }, reply: SagaReply): boolean {
  const { status, refunded } = payment;
  if (transition(status, reply)) return false;
  const refusedDebit = status === 'FAILED' && !refunded;
  switch (reply.type) {
    case 'wallet.debited':
      return refusedDebit;
    case 'wallet.debit-rejected':
      return !refusedDebit;
    case 'reservation.confirmed':
      return status === 'COMPENSATING' || (status === 'FAILED' && refunded);
    case 'reservation.confirm-rejected':
      return status === 'COMPLETED';
    case 'wallet.refunded':
      return status !== 'FAILED' || !refunded;
  }
}

/** The command a state is waiting on (sent again when unanswered), or null for a final state. */
export function pendingCommand(status: PaymentStatus): SagaCommand | null {
  switch (status) {
    case 'STARTED':
      return 'wallet.debit-requested';
    case 'DEBITED':
      return 'reservation.confirm-requested';
    case 'COMPENSATING':
      return 'wallet.refund-requested';
    default:
      return null;
  }
}

export const isFinal = (status: PaymentStatus): boolean => status === 'COMPLETED' || status === 'FAILED';

/** Delay before the n-th re-send of an unanswered command (n ≥ 1): doubling from the step timeout, capped, ±20% jitter. */
export function retryDelayMs(attempt: number, stepTimeoutMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, stepTimeoutMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}
