import type { SeatStatus } from '@ticketing/contracts';
import type { Database, Transaction } from '@ticketing/db';
import { SCHEDULES_TABLE, SEAT_PRICES_TABLE, SEAT_STATUSES_TABLE } from '../schedules/schedule.repository';

export interface SeatFact {
  scheduleId: string;
  seatNo: number;
  status: SeatStatus;
  /** The reservation service's seat version after the change. */
  version: number;
}

/** A schedule's seat listing, serialized once: the body is sent as is, the tag names this state of the read model. */
export interface SeatListing {
  /** `SeatListResponse` as JSON. */
  json: string;
  /** Changes whenever any seat's status does (the sum of seat versions only ever grows). */
  etag: string;
}

export interface SeatStatusRepository {
  /**
   * Applies the fact only if it is newer than what the row already reflects (one conditional update,
   * no read first), so duplicates and reordered events can never move a seat backwards.
   * Returns false when it was stale or the seat is unknown.
   */
  apply(trx: Transaction, fact: SeatFact): Promise<boolean>;
  /** The concert a schedule belongs to (never changes once published), or undefined for an unknown schedule. */
  concertOf(scheduleId: string): Promise<string | undefined>;
  /** The schedule's seats in order with status and price, or undefined for an unknown schedule. */
  listSeats(scheduleId: string): Promise<SeatListing | undefined>;
}

/** What never changes once a schedule is published: its concert and the price of each seat. */
interface SeatPlan {
  concertId: string;
  /** Seat numbers in order and their prices. */
  seatNos: number[];
  prices: number[];
  /** The last listing built, reused while no seat has changed. */
  last?: { versionSum: string; listing: SeatListing };
}

const STATUS_BY_CODE: Record<string, SeatStatus> = { A: 'AVAILABLE', H: 'HELD', S: 'SOLD' };
/** Published schedules kept in memory (their seat map and prices only; statuses are always read). */
const PLAN_CACHE_SIZE = 2_000;

export function createSeatStatusRepository(db: Database): SeatStatusRepository {
  const plans = new Map<string, SeatPlan>();

  async function loadPlan(scheduleId: string): Promise<SeatPlan | undefined> {
    const { rows } = await db.raw<{ rows: { concert_id: string; seat_nos: number[]; prices: (number | string)[] }[] }>(
      `select s.concert_id, array_agg(p.seat_no order by p.seat_no) as seat_nos, array_agg(p.price order by p.seat_no) as prices
         from ${SCHEDULES_TABLE} s join ${SEAT_PRICES_TABLE} p on p.schedule_id = s.id
        where s.id = ?
        group by s.concert_id`,
      [scheduleId],
    );
    // Every schedule has at least one seat, so no row means no such schedule (not cached: it may be published later).
    if (rows.length === 0) return undefined;
    const plan: SeatPlan = { concertId: rows[0].concert_id, seatNos: rows[0].seat_nos, prices: rows[0].prices.map(Number) };
    if (plans.size >= PLAN_CACHE_SIZE) plans.delete(plans.keys().next().value!);
    plans.set(scheduleId, plan);
    return plan;
  }

  // One read per listing at most, and one shared by every request for the same schedule that arrives
  // while it runs, so a burst of listings costs the database a handful of index scans.
  const inFlight = new Map<string, Promise<{ codes: string; versionSum: string } | undefined>>();
  function readStatuses(scheduleId: string) {
    let pending = inFlight.get(scheduleId);
    if (!pending) {
      pending = db
        .raw<{ rows: { codes: string | null; version_sum: string | null }[] }>(
          // One row, not one per seat: a code per seat in seat order, and the sum of their versions.
          `select string_agg(left(status, 1), '' order by seat_no) as codes, sum(version)::text as version_sum
             from ${SEAT_STATUSES_TABLE} where schedule_id = ?`,
          [scheduleId],
        )
        .then(({ rows }) => (rows[0]?.codes ? { codes: rows[0].codes, versionSum: rows[0].version_sum ?? '0' } : undefined))
        .finally(() => inFlight.delete(scheduleId));
      inFlight.set(scheduleId, pending);
    }
    return pending;
  }

  return {
    async apply(trx, { scheduleId, seatNo, status, version }) {
      const updated = await trx(SEAT_STATUSES_TABLE)
        .update({ status, version, updated_at: trx.fn.now() })
        .where({ schedule_id: scheduleId, seat_no: seatNo })
        .andWhere('version', '<', version);
      return updated > 0;
    },

    async concertOf(scheduleId) {
      return (plans.get(scheduleId) ?? (await loadPlan(scheduleId)))?.concertId;
    },

    async listSeats(scheduleId) {
      const plan = plans.get(scheduleId) ?? (await loadPlan(scheduleId));
      if (!plan) return undefined;
      const statuses = await readStatuses(scheduleId);
      if (!statuses || statuses.codes.length !== plan.seatNos.length) return undefined;
      if (plan.last?.versionSum === statuses.versionSum) return plan.last.listing;
      const seats = plan.seatNos.map((seatNo, i) => ({ seatNo, status: STATUS_BY_CODE[statuses.codes[i]], price: plan.prices[i] }));
      const listing: SeatListing = {
        json: JSON.stringify({ scheduleId, concertId: plan.concertId, seats }),
        etag: `W/"${scheduleId}.${statuses.versionSum}"`,
      };
      plan.last = { versionSum: statuses.versionSum, listing };
      return listing;
    },
  };
}
