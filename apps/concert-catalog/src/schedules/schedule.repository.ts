import type { ScheduleSummary } from '@ticketing/contracts';
import type { Database, Transaction } from '@ticketing/db';
import type { PlannedSeat } from './seat-plan';

export const SCHEDULES_TABLE = 'schedules';
export const SEAT_PRICES_TABLE = 'schedule_seat_prices';
export const SEAT_STATUSES_TABLE = 'seat_statuses';

export interface NewSchedule {
  id: string;
  concertId: string;
  startsAt: Date;
  bookingOpensAt: Date;
  bookingClosesAt: Date;
  seats: PlannedSeat[];
}

interface ScheduleSummaryRow {
  id: string;
  concert_id: string;
  starts_at: Date;
  booking_opens_at: Date;
  booking_closes_at: Date;
  seat_count: number;
  available_seats: number;
  min_price: number;
  max_price: number;
}

export interface ScheduleRepository {
  /** Writes the schedule, a price per seat and every seat AVAILABLE (version 0) in the caller's transaction. */
  insert(trx: Transaction, schedule: NewSchedule): Promise<void>;
  /** The concert's schedules whose booking window is open now (database clock) and that have a seat left. */
  listBookable(concertId: string): Promise<ScheduleSummary[]>;
}

export function createScheduleRepository(db: Database): ScheduleRepository {
  return {
    async insert(trx, schedule) {
      await trx(SCHEDULES_TABLE).insert({
        id: schedule.id,
        concert_id: schedule.concertId,
        starts_at: schedule.startsAt,
        booking_opens_at: schedule.bookingOpensAt,
        booking_closes_at: schedule.bookingClosesAt,
        seat_count: schedule.seats.length,
      });
      // Chunked: one insert's bind parameters are capped at 65535.
      const rows = schedule.seats.map((s) => ({ schedule_id: schedule.id, seat_no: s.seatNo, price: s.price }));
      await trx.batchInsert(SEAT_PRICES_TABLE, rows, 5_000);
      await trx.batchInsert(SEAT_STATUSES_TABLE, rows.map(({ schedule_id, seat_no }) => ({ schedule_id, seat_no })), 5_000);
    },

    async listBookable(concertId) {
      const { rows } = await db.raw<{ rows: ScheduleSummaryRow[] }>(
        `select s.id, s.concert_id, s.starts_at, s.booking_opens_at, s.booking_closes_at, s.seat_count,
                count(*) filter (where st.status = 'AVAILABLE')::int as available_seats,
                min(p.price) as min_price, max(p.price) as max_price
           from ${SCHEDULES_TABLE} s
           join ${SEAT_PRICES_TABLE} p on p.schedule_id = s.id
           join ${SEAT_STATUSES_TABLE} st on st.schedule_id = p.schedule_id and st.seat_no = p.seat_no
          where s.concert_id = ? and s.booking_opens_at <= now() and s.booking_closes_at > now()
          group by s.id
         having count(*) filter (where st.status = 'AVAILABLE') > 0
          order by s.starts_at, s.id`,
        [concertId],
      );
      return rows.map((r) => ({
        scheduleId: r.id,
        concertId: r.concert_id,
        startsAt: r.starts_at.toISOString(),
        bookingOpensAt: r.booking_opens_at.toISOString(),
        bookingClosesAt: r.booking_closes_at.toISOString(),
        seatCount: r.seat_count,
        availableSeats: r.available_seats,
        minPrice: r.min_price,
        maxPrice: r.max_price,
      }));
    },
  };
}
