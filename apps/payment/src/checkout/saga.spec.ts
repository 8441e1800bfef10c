import type { PaymentStatus } from '@ticketing/contracts';
import { isContradiction, isFinal, pendingCommand, retryDelayMs, transition, type SagaReply } from './saga';

const STATUSES: PaymentStatus[] = ['STARTED', 'DEBITED', 'COMPENSATING', 'COMPLETED', 'FAILED'];
const REPLIES: SagaReply[] = [
  { type: 'wallet.debited' },
  { type: 'wallet.debit-rejected', reason: 'INSUFFICIENT_BALANCE' },
  { type: 'reservation.confirmed' },
  { type: 'reservation.confirm-rejected', reason: 'HOLD_EXPIRED' },
  { type: 'wallet.refunded' },
];

describe('checkout saga state machine', () => {
  it('follows the design: debit → confirm → complete, or fail, or compensate', () => {
    expect(transition('STARTED', REPLIES[0])).toEqual({ to: 'DEBITED', emit: 'reservation.confirm-requested' });
    expect(transition('STARTED', REPLIES[1])).toEqual({ to: 'FAILED', failureReason: 'INSUFFICIENT_BALANCE', emit: 'payment.failed' });
    expect(transition('DEBITED', REPLIES[2])).toEqual({ to: 'COMPLETED', emit: 'payment.completed' });
    expect(transition('DEBITED', REPLIES[3])).toEqual({ to: 'COMPENSATING', failureReason: 'HOLD_EXPIRED', emit: 'wallet.refund-requested' });
    expect(transition('COMPENSATING', REPLIES[4])).toEqual({ to: 'FAILED', refunded: true, emit: 'payment.failed' });
  });

  it('moves on exactly one reply per state and never out of a final state', () => {
    for (const status of STATUSES) {
      const moves = REPLIES.filter((r) => transition(status, r));
      if (isFinal(status)) expect(moves).toEqual([]);
      else expect(moves.length).toBeGreaterThanOrEqual(1);
      // Every state that waits has a command to re-send, and only those.
      expect(pendingCommand(status) === null).toBe(isFinal(status));
    }
  });

  it('takes a late copy of a reply already acted on for a duplicate, and a reply against the known outcome for a contradiction', () => {
    expect(isContradiction({ status: 'DEBITED', refunded: false }, REPLIES[0])).toBe(false); // debited again
    expect(isContradiction({ status: 'COMPLETED', refunded: false }, REPLIES[2])).toBe(false); // confirmed again
    expect(isContradiction({ status: 'FAILED', refunded: true }, REPLIES[4])).toBe(false); // refunded again
    expect(isContradiction({ status: 'FAILED', refunded: false }, REPLIES[1])).toBe(false); // rejected again
    expect(isContradiction({ status: 'FAILED', refunded: false }, REPLIES[0])).toBe(true); // debited after a refusal
    expect(isContradiction({ status: 'COMPLETED', refunded: false }, REPLIES[3])).toBe(true);
    expect(isContradiction({ status: 'COMPLETED', refunded: false }, REPLIES[4])).toBe(true);
    expect(isContradiction({ status: 'COMPENSATING', refunded: false }, REPLIES[2])).toBe(true);
    expect(isContradiction({ status: 'DEBITED', refunded: false }, REPLIES[1])).toBe(true);
  });

  it('backs off exponentially up to a cap, with bounded jitter', () => {
    expect(retryDelayMs(1, 1000, 60_000, () => 0.5)).toBe(1000);
    expect(retryDelayMs(3, 1000, 60_000, () => 0.5)).toBe(4000);
    expect(retryDelayMs(30, 1000, 60_000, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(2, 1000, 60_000, () => 0)).toBe(1600);
    expect(retryDelayMs(2, 1000, 60_000, () => 1)).toBe(2400);
  });
});
