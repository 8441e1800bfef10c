import type { PaymentStatus } from '@ticketing/contracts';
import type { EventHandlers, HandlerContext, OutboxWriter } from '@ticketing/messaging';
import type { Logger } from '@ticketing/telemetry';
import { isContradiction, isFinal, transition, type SagaReply } from './saga';
import { sagaMessage } from './saga-events';
import type { SagaMetrics } from './saga.metrics';
import { paymentRepository as payments } from './payment.repository';
import { PAYMENT_FINISHED_CHANNEL, type PaymentWaiter } from './payment-waiter';

export interface SagaConsumerDeps {
  outbox: OutboxWriter;
  logger: Logger;
  metrics: SagaMetrics;
  /** Where POST /payments requests of this process wait for their payment's end. */
  waiter: Pick<PaymentWaiter, 'isWaiting' | 'finished'>;
  stepTimeoutMs: number;
}

/** The state a reply is an answer to: the only state it may move the payment from. */
const ANSWERS: Record<SagaReply['type'], PaymentStatus> = {
  'wallet.debited': 'STARTED',
  'wallet.debit-rejected': 'STARTED',
  'reservation.confirmed': 'DEBITED',
  'reservation.confirm-rejected': 'DEBITED',
  'wallet.refunded': 'COMPENSATING',
};

/**
 * The saga's reaction to each reply: one conditional update from the state the reply answers, and
 * the next command (or the outcome) in the outbox, in the consumer's transaction. A reply that finds
 * the payment elsewhere changes nothing: a duplicate, a late copy after a retried command, or — if
 * it contradicts what is already known — a bug, logged and counted.
 */
export function sagaHandlers(deps: SagaConsumerDeps): EventHandlers {
  const log = deps.logger.child({ component: 'checkout-saga' });

  async function onReply(paymentId: string, reply: SagaReply, event: { id: string }, { trx }: HandlerContext): Promise<void> {
    const from = ANSWERS[reply.type];
    const step = transition(from, reply)!;
    const final = isFinal(step.to);
    const moved = await payments.advance(trx, paymentId, from, {
      to: step.to,
      failureReason: step.failureReason,
      refunded: step.refunded,
      final,
      nextRetryInMs: deps.stepTimeoutMs,
    });
    if (!moved) {
      const current = await payments.find(trx, paymentId);
      if (!current) {
        // Not ours (another deployment sharing the topics, or a payment this database never had).
        log.warn({ paymentId, reply: reply.type }, 'reply for an unknown payment ignored');
      } else if (isContradiction(current, reply)) {
        deps.metrics.contradictions.inc({ reply: reply.type });
        log.error({ paymentId, reply: reply.type, status: current.status, refunded: current.refunded }, 'saga reply contradicts the payment state; not applied');
      } else {
        deps.metrics.duplicateReplies.inc({ reply: reply.type });
      }
      return;
    }
    await deps.outbox.append(trx, sagaMessage(step.emit, moved, event.id));
    deps.metrics.transitions.inc({ from, to: step.to });
    if (final) {
      // A request waiting here is handed the row after commit. Otherwise it may wait in another
      // instance: NOTIFY (delivered on commit), which is only sent then because it serialises commits.
      if (!deps.waiter.isWaiting(paymentId)) await trx.raw('select pg_notify(?, ?)', [PAYMENT_FINISHED_CHANNEL, paymentId]);
      const seconds = (Date.now() - moved.created_at.getTime()) / 1000;
      trx.executionPromise.then(
        () => {
          deps.metrics.finished.inc({ status: step.to, reason: moved.failure_reason ?? '' });
          deps.metrics.duration.observe({ status: step.to }, seconds);
          deps.waiter.finished(moved);
        },
        () => undefined,
      );
    }
  }

  return {
    'wallet.debited': (e, ctx) => onReply(e.payload.paymentId, { type: 'wallet.debited' }, e, ctx),
    'wallet.debit-rejected': (e, ctx) => onReply(e.payload.paymentId, { type: 'wallet.debit-rejected', reason: e.payload.reason }, e, ctx),
    'reservation.confirmed': (e, ctx) => onReply(e.payload.paymentId, { type: 'reservation.confirmed' }, e, ctx),
    'reservation.confirm-rejected': (e, ctx) => onReply(e.payload.paymentId, { type: 'reservation.confirm-rejected', reason: e.payload.reason }, e, ctx),
    'wallet.refunded': (e, ctx) => onReply(e.payload.paymentId, { type: 'wallet.refunded' }, e, ctx),
  };
}
