import type { SeatListResponse, SeatStatus } from '@ticketing/contracts';
import type { Database, Transaction } from '@ticketing/db';
import { SCHEDULES_TABLE, SEAT_PRICES_TABLE, SEAT_STATUSES_TABLE } from '../schedules/schedule.repository';

export interface SeatFact {
  scheduleId: string;
  seatNo: number;
  status: SeatStatus;
  /** The reservation service's seat version after the change. */
  version: number;
}

export interface SeatStatusRepository {
  /**
   * Applies the fact only if it is newer than what the row already reflects (one conditional update,
   * no read first), so duplicates and reordered events can never move a seat backwards.
   * Returns false when it was stale or the seat is unknown.
   */
  apply(trx: Transaction, fact: SeatFact): Promise<boolean>;
  /** The schedule's seats in order with status and price, or undefined for an unknown schedule. */
  listSeats(scheduleId: string): Promise<SeatListResponse | undefined>;
}

export function createSeatStatusRepository(db: Database): SeatStatusRepository {
  return {
    async apply(trx, { scheduleId, seatNo, status, version }) {
      const updated = await trx(SEAT_STATUSES_TABLE)
        .update({ status, version, updated_at: trx.fn.now() })
        .where({ schedule_id: scheduleId, seat_no: seatNo })
        .andWhere('version', '<', version);
      return updated > 0;
    },

    async listSeats(scheduleId) {
      const rows: { concert_id: string; seat_no: number; price: number; status: SeatStatus }[] = await db(`${SCHEDULES_TABLE} as s`)
        .join(`${SEAT_PRICES_TABLE} as p`, 'p.schedule_id', 's.id')
        .join(`${SEAT_STATUSES_TABLE} as st`, (j) => j.on('st.schedule_id', 'p.schedule_id').andOn('st.seat_no', 'p.seat_no'))
        .where('s.id', scheduleId)
        .select('s.concert_id', 'p.seat_no', 'p.price', 'st.status')
        .orderBy('p.seat_no');
      // Every schedule has at least one seat, so no rows means no such schedule.
      if (rows.length === 0) return undefined;
      return {
        scheduleId,
        concertId: rows[0].concert_id,
        seats: rows.map((r) => ({ seatNo: r.seat_no, status: r.status, price: r.price })),
      };
    },
  };
}
