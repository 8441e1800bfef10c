import { assertAdmittedFor, ProblemError } from '@ticketing/http';
import type { OutboxWriter } from '@ticketing/messaging';
import type { Knex } from 'knex';
import type { SignedInCaller } from './hold-seat.handler';
import { seatKey } from './reservation.domain';
import { reservationRepository as reservations, seatRepository as seats } from './seat.repository';

export interface CancelReservationDeps {
  db: Knex;
  outbox: OutboxWriter;
}

/**
 * Cancels the caller's live hold: the seat is AVAILABLE again and `reservation.cancelled` is emitted,
 * in one transaction. Only under an admission to the sale of the hold's concert (else 403 WRONG_SALE,
 * and the hold stays).
 */
export function createCancelReservationHandler({ db, outbox }: CancelReservationDeps) {
  return async function cancelReservation(caller: SignedInCaller, reservationId: string): Promise<{ reservationId: string; status: 'CANCELLED' }> {
    const { userId } = caller;
    const cancelled = await db.transaction(async (trx) => {
      const seat = await seats.release(trx, { reservationId, userId, concertId: caller.sale?.concertId ?? null });
      if (!seat) return false;
      await reservations.finish(trx, [reservationId], 'CANCELLED');
      await reservations.giveBackHoldSlot(trx, userId, seat.scheduleId);
      await outbox.append(trx, {
        type: 'reservation.cancelled',
        key: seatKey(seat.scheduleId, seat.seatNo),
        payload: { reservationId, scheduleId: seat.scheduleId, seatNo: seat.seatNo, userId, seatVersion: seat.version },
      });
      return true;
    });
    if (cancelled) return { reservationId, status: 'CANCELLED' };

    const reservation = await reservations.findWithConcert(db, reservationId);
    // Someone else's reservation is indistinguishable from a missing one.
    if (!reservation || reservation.user_id !== userId) throw new ProblemError('NOT_FOUND', `reservation ${reservationId} does not exist`);
    assertAdmittedFor(caller, reservation.concert_id);
    throw new ProblemError('RESERVATION_NOT_CANCELLABLE', `reservation ${reservationId} is ${reservation.status === 'HELD' ? 'past its hold deadline' : reservation.status}; only a live hold can be cancelled`, {
      reservationStatus: reservation.status,
    });
  };
}
