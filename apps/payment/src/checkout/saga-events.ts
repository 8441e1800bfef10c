import type { EventType, PaymentFailureReason } from '@ticketing/contracts';
import type { NewEvent } from '@ticketing/messaging';
import type { PaymentRow } from './payment.repository';
import type { SagaCommand, SagaOutcomeEvent } from './saga';

/**
 * The message a saga state sends, built from the payment row. Every one is keyed by the payment id,
 * so the replies and outcomes of one payment stay in order, and carries the payment id as its
 * correlation id, so one checkout can be followed across services by that id too.
 */
export function sagaMessage(kind: SagaCommand | SagaOutcomeEvent, p: PaymentRow, causationId: string | null = null): NewEvent<EventType> {
  const base = { key: p.id, correlationId: p.correlation_id, causationId };
  switch (kind) {
    case 'wallet.debit-requested':
      return { ...base, type: kind, payload: { paymentId: p.id, userId: p.user_id, amount: p.amount } };
    case 'wallet.refund-requested':
      return { ...base, type: kind, payload: { paymentId: p.id, userId: p.user_id, amount: p.amount } };
    case 'reservation.confirm-requested':
      return { ...base, type: kind, payload: { paymentId: p.id, reservationId: p.reservation_id, userId: p.user_id } };
    case 'payment.completed':
      return {
        ...base,
        type: kind,
        payload: {
          paymentId: p.id,
          userId: p.user_id,
          reservationId: p.reservation_id,
          amount: p.amount,
          // The admission this payment used: the gateway frees exactly that slot.
          ...(p.sale_concert_id && p.queue_ticket ? { concertId: p.sale_concert_id, queueTicket: p.queue_ticket } : {}),
        },
      };
    case 'payment.failed':
      return { ...base, type: kind, payload: { paymentId: p.id, userId: p.user_id, reservationId: p.reservation_id, reason: failureReason(p) } };
  }
}

function failureReason(p: PaymentRow): PaymentFailureReason {
  if (!p.failure_reason) throw new Error(`payment ${p.id} failed without a reason`);
  return p.failure_reason;
}
