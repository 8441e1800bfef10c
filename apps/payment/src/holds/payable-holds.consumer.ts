import type { EventHandlers } from '@ticketing/messaging';
import type { HoldArrivals } from './hold-arrivals';
import { payableHoldRepository as holds } from './payable-hold.repository';

/** Keeps `payable_holds` in step with the reservation service's seat facts. */
export function payableHoldHandlers(arrivals?: Pick<HoldArrivals, 'arrived'>): EventHandlers {
  return {
    'reservation.held': async ({ payload: p }, { trx }) => {
      await holds.recordHeld(trx, {
        reservation_id: p.reservationId,
        user_id: p.userId,
        schedule_id: p.scheduleId,
        seat_no: p.seatNo,
        price: p.price,
        hold_expires_at: new Date(p.holdExpiresAt),
        seat_version: p.seatVersion,
        concert_id: p.concertId ?? null,
      });
      if (arrivals) trx.executionPromise.then(() => arrivals.arrived(p.reservationId), () => undefined);
    },
    'reservation.cancelled': ({ payload: p }, { trx }) => holds.recordEnded(trx, p.reservationId, 'CANCELLED', p.seatVersion),
    'hold.expired': ({ payload: p }, { trx }) => holds.recordEnded(trx, p.reservationId, 'EXPIRED', p.seatVersion),
    'reservation.confirmed': ({ payload: p }, { trx }) => holds.recordEnded(trx, p.reservationId, 'SOLD', p.seatVersion),
  };
}
