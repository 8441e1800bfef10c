import type { ListReservationsResponse } from '@ticketing/contracts';
import type { Knex } from 'knex';
import { reservationRepository as reservations } from './seat.repository';

/** The caller's reservations, newest first. */
export function createListReservationsHandler({ db }: { db: Knex }) {
  return async function listReservations(userId: string): Promise<ListReservationsResponse> {
    const rows = await reservations.listByUser(db, userId);
    return {
      reservations: rows.map((r) => ({
        reservationId: r.id,
        scheduleId: r.schedule_id,
        seatNo: r.seat_no,
        status: r.status,
        price: r.price,
        holdExpiresAt: r.status === 'HELD' ? r.hold_expires_at.toISOString() : null,
        paymentId: r.payment_id,
        createdAt: r.created_at.toISOString(),
        updatedAt: r.updated_at.toISOString(),
      })),
    };
  };
}
