import type { EventHandler, EventHandlers } from '@ticketing/messaging';
import type { Logger } from '@ticketing/telemetry';
import { seatStatusAfter, type SeatEventType } from './seat-status';
import type { SeatStatusRepository } from './seat-status.repository';

/**
 * The seat status read model: each seat event sets the seat's status if its seatVersion is newer
 * than the row's. The consumer records message ids (duplicates are skipped) and the version guard
 * makes any delivery order converge on the reservation service's latest state.
 */
export function seatStatusHandlers({ seats, logger }: { seats: SeatStatusRepository; logger: Logger }): EventHandlers {
  const project =
    <T extends SeatEventType>(type: T): EventHandler<T> =>
    async (event, { trx }) => {
      const { scheduleId, seatNo, seatVersion } = event.payload;
      const applied = await seats.apply(trx, { scheduleId, seatNo, status: seatStatusAfter(type), version: seatVersion });
      if (!applied) logger.debug({ eventId: event.id, type, scheduleId, seatNo, seatVersion }, 'seat event older than the read model (or unknown seat); ignored');
    };
  return {
    'reservation.held': project('reservation.held'),
    'reservation.cancelled': project('reservation.cancelled'),
    'hold.expired': project('hold.expired'),
    'reservation.confirmed': project('reservation.confirmed'),
  };
}
