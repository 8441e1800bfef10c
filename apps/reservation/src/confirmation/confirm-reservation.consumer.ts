import type { EventHandlers, OutboxWriter } from '@ticketing/messaging';
import { confirmOutcome, seatKey } from '../holds/reservation.domain';
import { reservationRepository as reservations, seatRepository as seats } from '../holds/seat.repository';

/**
 * `reservation.confirm-requested` from the checkout saga. One conditional write decides: the seat
 * HELD by that user for that reservation and not past its deadline becomes SOLD (the sweeper's SKIP
 * LOCKED never takes a seat whose confirmation holds the lock, and a SOLD seat never matches it
 * again). Otherwise the saga gets `reservation.confirm-rejected` with the reason, except that a
 * payment that already won is answered `reservation.confirmed` again.
 */
export function confirmRequestedHandlers(outbox: OutboxWriter): EventHandlers {
  return {
    'reservation.confirm-requested': async (event, { trx }) => {
      const { paymentId, reservationId, userId } = event.payload;
      const causation = { correlationId: event.correlationId, causationId: event.id };
      const announceSold = (seat: { scheduleId: string; seatNo: number; version: number }) =>
        outbox.append(trx, {
          type: 'reservation.confirmed',
          key: seatKey(seat.scheduleId, seat.seatNo),
          payload: { reservationId, scheduleId: seat.scheduleId, seatNo: seat.seatNo, userId, seatVersion: seat.version, paymentId },
          ...causation,
        });

      const seat = await seats.sell(trx, { reservationId, userId });
      if (seat) {
        await reservations.finish(trx, [reservationId], 'SOLD', paymentId);
        await reservations.giveBackHoldSlot(trx, userId, seat.scheduleId);
        await announceSold(seat);
        return;
      }

      const reservation = await reservations.find(trx, reservationId);
      const outcome = confirmOutcome(reservation && { userId: reservation.user_id, status: reservation.status, paymentId: reservation.payment_id }, { userId, paymentId });
      if ('confirmedAgain' in outcome) {
        const { schedule_id: scheduleId, seat_no: seatNo } = reservation!;
        await announceSold({ scheduleId, seatNo, version: await seats.version(trx, scheduleId, seatNo) });
        return;
      }
      await outbox.append(trx, {
        type: 'reservation.confirm-rejected',
        key: paymentId,
        payload: { reservationId, paymentId, reason: outcome.rejected },
        ...causation,
      });
    },
  };
}
