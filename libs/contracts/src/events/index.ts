import { z } from 'zod';
import { schedulePublishedV1 } from './catalog.events';
import { saleConfiguredV1 } from './sale.events';
import * as payment from './payment.events';
import * as reservation from './reservation.events';
import * as wallet from './wallet.events';

/**
 * The event catalogue: type → current version and payload schema. Names are
 * `<aggregate>.<past-tense>` for facts and `<aggregate>.<verb>-requested` for saga commands.
 * An event is only ever extended with optional fields; a breaking change adds a version and an upcaster.
 */
export const EVENTS = {
  'schedule.published': { version: 1, schema: schedulePublishedV1 },
  'sale.configured': { version: 1, schema: saleConfiguredV1 },
  'reservation.held': { version: 1, schema: reservation.reservationHeldV1 },
  'reservation.cancelled': { version: 1, schema: reservation.reservationCancelledV1 },
  'hold.expired': { version: 1, schema: reservation.holdExpiredV1 },
  'reservation.confirm-requested': { version: 1, schema: reservation.reservationConfirmRequestedV1 },
  'reservation.confirmed': { version: 1, schema: reservation.reservationConfirmedV1 },
  'reservation.confirm-rejected': { version: 1, schema: reservation.reservationConfirmRejectedV1 },
  'wallet.debit-requested': { version: 1, schema: wallet.walletDebitRequestedV1 },
  'wallet.debited': { version: 1, schema: wallet.walletDebitedV1 },
  'wallet.debit-rejected': { version: 1, schema: wallet.walletDebitRejectedV1 },
  'wallet.refund-requested': { version: 1, schema: wallet.walletRefundRequestedV1 },
  'wallet.refunded': { version: 1, schema: wallet.walletRefundedV1 },
  'payment.completed': { version: 1, schema: payment.paymentCompletedV1 },
  'payment.failed': { version: 1, schema: payment.paymentFailedV1 },
} as const;

export type EventType = keyof typeof EVENTS;
export type EventPayload<T extends EventType> = z.infer<(typeof EVENTS)[T]['schema']>;
export const EVENT_TYPES = Object.keys(EVENTS) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENTS, type);
}
