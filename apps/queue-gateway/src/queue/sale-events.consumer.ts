import type { EventHandlers } from '@ticketing/messaging';
import type { Logger } from '@ticketing/telemetry';
import { roomSaleOf, type Rooms } from '../waiting-room/rooms';

/**
 * The gateway's consumers:
 * - `sale.configured`: the concert's room takes the settings (a newer revision only, so a repeated or
 *   reordered event changes nothing) and joins the index every gateway ticks.
 * - `payment.completed`: the buyer's slot in that sale's room is freed at once (exactly the admission
 *   the payment was made under: a late or repeated event never ends a later admission of the same fan),
 *   so the next fan is admitted on the next tick. Both are idempotent in Redis, so a redelivery does no harm.
 */
export function gatewayEventHandlers({ rooms, logger }: { rooms: Pick<Rooms, 'configure' | 'room'>; logger: Pick<Logger, 'warn'> }): EventHandlers {
  return {
    'sale.configured': async (event) => {
      await rooms.configure(event.payload.concertId, roomSaleOf(event.payload));
    },
    'payment.completed': async (event) => {
      const { userId, concertId, queueTicket, paymentId } = event.payload;
      if (!concertId || queueTicket === undefined) {
        // Made before sales existed: no room to free a slot in (its admission has timed out long since).
        logger.warn({ paymentId }, 'payment.completed without a sale and queue ticket: no slot to free');
        return;
      }
      await rooms.room(concertId).waitingRoom.expireTicket(userId, queueTicket);
    },
  };
}
