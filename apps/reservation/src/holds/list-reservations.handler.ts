import type { ListReservationsResponse, PageQuery } from '@ticketing/contracts';
import { CURSOR_PARTS, decodeCursor, encodeCursor } from '@ticketing/http';
import type { Knex } from 'knex';
import { reservationRepository as reservations } from './seat.repository';

/** The caller's reservations, newest first, a page at a time. */
export function createListReservationsHandler({ db }: { db: Knex }) {
  return async function listReservations(userId: string, page: PageQuery): Promise<ListReservationsResponse> {
    const after = page.cursor ? (decodeCursor(page.cursor, [CURSOR_PARTS.timestamp, CURSOR_PARTS.uuid]) as [string, string]) : undefined;
    const rows = await reservations.listByUser(db, userId, { limit: page.limit + 1, after });
    const more = rows.length > page.limit;
    if (more) rows.pop();
    const last = rows[rows.length - 1];
    return {
      nextCursor: more ? encodeCursor([last.created_at_key, last.id]) : null,
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
