import type { ReservationStatus } from '@ticketing/contracts';
import type { Knex } from 'knex';

/** A seat as a conditional write left it: the new version, and who held it before when that matters. */
export interface SeatChange {
  scheduleId: string;
  seatNo: number;
  version: number;
  price: number;
}

export interface ReservationRow {
  id: string;
  schedule_id: string;
  seat_no: number;
  user_id: string;
  price: number;
  status: ReservationStatus;
  hold_expires_at: Date;
  payment_id: string | null;
  created_at: Date;
  updated_at: Date;
}

/** What the one-statement hold did; `REFUSED` carries what the schedule and seat looked like, to name the refusal. */
export type HoldAttempt =
  | { outcome: 'HELD'; seat: SeatChange & { holdExpiresAt: Date; concertId: string } }
  | { outcome: 'HOLD_LIMIT_REACHED' }
  /** `concertId`: the schedule's concert, which the caller must be admitted for before taking the seat over. */
  | { outcome: 'LAPSED_HOLD'; concertId: string }
  | {
      outcome: 'REFUSED';
      schedule: { seatCount: number; bookingOpensAt: Date; bookingClosesAt: Date; concertId: string } | undefined;
      seatExists: boolean;
    };

const toChange = (r: { schedule_id: string; seat_no: number; version: number; price: number }): SeatChange => ({
  scheduleId: r.schedule_id,
  seatNo: r.seat_no,
  version: r.version,
  price: r.price,
});

/**
 * SQL of the seat aggregate. Every state change is one conditional update on the seat row (the row
 * lock settles races; `version` + 1 orders the facts for read models), always taken before any
 * reservation or counter row, so transactions meet in one lock order.
 */
export const seatRepository = {
  /**
   * The common hold in one statement (one round trip): AVAILABLE → HELD by `userId` inside the booking
   * window, on a schedule of the concert the caller was admitted for (`concertId`; null = none, which
   * matches nothing) (the conditional, versioned write), then the user's hold slot (`n < limit`) and the HELD
   * reservation. An AVAILABLE seat has no live reservation (whatever freed it finished that one in the
   * same transaction), so the insert cannot meet the previous holder's row. A seat still HELD past its
   * deadline is left alone here: the caller takes it over with `hold`.
   *
   * The same statement reports what the schedule and the seat looked like (statement snapshot), only
   * to name a refusal or to see that a lapsed hold could be taken over; it never decides the write.
   */
  async holdAvailable(
    trx: Knex.Transaction,
    a: { scheduleId: string; seatNo: number; userId: string; reservationId: string; holdTtlSeconds: number; holdLimit: number; concertId: string | null },
  ): Promise<HoldAttempt> {
    const { rows } = await trx.raw(
      `with sched as (
         select seat_count, booking_opens_at, booking_closes_at, concert_id,
                now() >= booking_opens_at and now() < booking_closes_at and concert_id = :concertId as open
           from schedules where id = :scheduleId
       ),
       held as (
         update seats s
            set status = 'HELD', reservation_id = :reservationId, holder_user_id = :userId,
                hold_expires_at = now() + make_interval(secs => :ttl), version = s.version + 1
          where s.schedule_id = :scheduleId and s.seat_no = :seatNo and s.status = 'AVAILABLE'
            and (select open from sched)
          returning s.version, s.price, s.hold_expires_at
       ),
       slot as (
         insert into hold_counts as h (user_id, schedule_id, n)
         select :userId, :scheduleId, 1 from held
         on conflict (user_id, schedule_id) do update set n = h.n + 1 where h.n < :limit
         returning n
       ),
       reservation as (
         insert into reservations (id, schedule_id, seat_no, user_id, price, status, hold_expires_at)
         select :reservationId, :scheduleId, :seatNo, :userId, held.price, 'HELD', held.hold_expires_at
           from held where exists (select 1 from slot)
         returning id
       )
       select held.version, held.price, held.hold_expires_at,
              exists (select 1 from reservation) as slot_taken,
              sched.seat_count, sched.booking_opens_at, sched.booking_closes_at, sched.concert_id,
              seat.seat_no is not null as seat_exists,
              coalesce(seat.status = 'HELD' and seat.hold_expires_at <= now(), false) as lapsed_hold
         from (select 1) one
         left join held on true
         left join sched on true
         left join seats seat on seat.schedule_id = :scheduleId and seat.seat_no = :seatNo`,
      { ...a, ttl: a.holdTtlSeconds, limit: a.holdLimit },
    );
    const r = rows[0];
    if (r.version !== null) {
      const seat = { scheduleId: a.scheduleId, seatNo: a.seatNo, version: r.version as number, price: r.price as number, holdExpiresAt: r.hold_expires_at as Date, concertId: r.concert_id as string };
      return r.slot_taken ? { outcome: 'HELD', seat } : { outcome: 'HOLD_LIMIT_REACHED' };
    }
    if (r.lapsed_hold) return { outcome: 'LAPSED_HOLD', concertId: r.concert_id as string };
    return {
      outcome: 'REFUSED',
      schedule:
        r.seat_count === null
          ? undefined
          : { seatCount: r.seat_count as number, bookingOpensAt: r.booking_opens_at as Date, bookingClosesAt: r.booking_closes_at as Date, concertId: r.concert_id as string },
      seatExists: r.seat_exists as boolean,
    };
  },

  /**
   * AVAILABLE (or HELD past its deadline, not yet swept) → HELD by `userId`, inside the booking window.
   * Taking over an unswept expired hold bumps the version by 2: the previous hold's `hold.expired` gets the one in between.
   */
  async hold(trx: Knex.Transaction, a: { scheduleId: string; seatNo: number; userId: string; reservationId: string; holdTtlSeconds: number }) {
    const { rows } = await trx.raw(
      `update seats s
          set status = 'HELD', reservation_id = :reservationId, holder_user_id = :userId,
              hold_expires_at = now() + make_interval(secs => :ttl),
              version = s.version + case when s.status = 'HELD' then 2 else 1 end
        where s.schedule_id = :scheduleId and s.seat_no = :seatNo
          and (s.status = 'AVAILABLE' or (s.status = 'HELD' and s.hold_expires_at <= now()))
          and exists (select 1 from schedules sc where sc.id = s.schedule_id and now() >= sc.booking_opens_at and now() < sc.booking_closes_at)
        returning s.schedule_id, s.seat_no, s.version, s.price, s.hold_expires_at`,
      { ...a, ttl: a.holdTtlSeconds },
    );
    const row = rows[0];
    return row ? { ...toChange(row), holdExpiresAt: row.hold_expires_at as Date } : undefined;
  },

  /**
   * HELD by `userId`, not expired, on a schedule of the concert the caller was admitted for
   * (`concertId`; null matches nothing) → AVAILABLE; the hold's seat, or nothing.
   */
  async release(trx: Knex.Transaction, a: { reservationId: string; userId: string; concertId: string | null }): Promise<SeatChange | undefined> {
    const { rows } = await trx.raw(
      `update seats set status = 'AVAILABLE', reservation_id = null, holder_user_id = null, hold_expires_at = null, version = version + 1
        where reservation_id = :reservationId and holder_user_id = :userId and status = 'HELD' and hold_expires_at > now()
          and exists (select 1 from schedules sc where sc.id = seats.schedule_id and sc.concert_id = :concertId)
        returning schedule_id, seat_no, version, price`,
      a,
    );
    return rows[0] ? toChange(rows[0]) : undefined;
  },

  /** HELD by `userId`, not expired → SOLD. A hold the sweeper released first matches nothing. */
  async sell(trx: Knex.Transaction, a: { reservationId: string; userId: string }): Promise<SeatChange | undefined> {
    const { rows } = await trx.raw(
      // statement_timestamp(), not now(): a consumer applies a run of messages in one long transaction.
      `update seats set status = 'SOLD', hold_expires_at = null, version = version + 1
        where reservation_id = :reservationId and holder_user_id = :userId and status = 'HELD' and hold_expires_at > statement_timestamp()
        returning schedule_id, seat_no, version, price`,
      a,
    );
    return rows[0] ? toChange(rows[0]) : undefined;
  },

  /**
   * Releases up to `limit` holds past their deadline. SKIP LOCKED lets sweepers in several instances
   * split the work, and skips a seat a confirmation holds: if that confirmation wins, the seat is SOLD
   * and never matches again; if it loses, the next sweep takes it.
   */
  async releaseExpired(trx: Knex.Transaction, limit: number): Promise<(SeatChange & { reservationId: string; userId: string })[]> {
    const { rows } = await trx.raw(
      `with due as (
         select schedule_id, seat_no, reservation_id, holder_user_id from seats
          where status = 'HELD' and hold_expires_at <= now()
          order by hold_expires_at
          limit :limit
          for update skip locked
       )
       update seats s set status = 'AVAILABLE', reservation_id = null, holder_user_id = null, hold_expires_at = null, version = s.version + 1
         from due where s.schedule_id = due.schedule_id and s.seat_no = due.seat_no
       returning s.schedule_id, s.seat_no, s.version, s.price, due.reservation_id, due.holder_user_id`,
      { limit },
    );
    return rows.map((r: { reservation_id: string; holder_user_id: string } & Parameters<typeof toChange>[0]) => ({
      ...toChange(r),
      reservationId: r.reservation_id,
      userId: r.holder_user_id,
    }));
  },

  /** Milliseconds until the earliest live hold's deadline (negative: past; undefined: no hold). */
  async msUntilNextExpiry(db: Knex): Promise<number | undefined> {
    const { rows } = await db.raw(`select extract(epoch from min(hold_expires_at) - now()) * 1000 as ms from seats where status = 'HELD'`);
    return rows[0]?.ms == null ? undefined : Number(rows[0].ms);
  },

  /** The seat's current version (for re-announcing a sale that already happened). */
  async version(trx: Knex.Transaction, scheduleId: string, seatNo: number): Promise<number> {
    const row = await trx('seats').where({ schedule_id: scheduleId, seat_no: seatNo }).first('version');
    return row.version as number;
  },

  /** For naming a refused hold only (never to decide a write). */
  async describe(db: Knex, scheduleId: string, seatNo: number) {
    const schedule = await db('schedules').where({ id: scheduleId }).first('seat_count', 'booking_opens_at', 'booking_closes_at', 'concert_id');
    const seat = schedule ? await db('seats').where({ schedule_id: scheduleId, seat_no: seatNo }).first('seat_no') : undefined;
    return {
      schedule: schedule && {
        seatCount: schedule.seat_count as number,
        bookingOpensAt: schedule.booking_opens_at as Date,
        bookingClosesAt: schedule.booking_closes_at as Date,
        concertId: schedule.concert_id as string,
      },
      seatExists: Boolean(seat),
    };
  },
};

/** Reservations and the per-user live-hold counter. */
export const reservationRepository = {
  async insertHeld(trx: Knex.Transaction, r: { id: string; scheduleId: string; seatNo: number; userId: string; price: number; holdExpiresAt: Date }): Promise<void> {
    await trx('reservations').insert({
      id: r.id,
      schedule_id: r.scheduleId,
      seat_no: r.seatNo,
      user_id: r.userId,
      price: r.price,
      status: 'HELD',
      hold_expires_at: r.holdExpiresAt,
    });
  },

  /** Marks the seat's live HELD reservation (other than `exceptId`) as EXPIRED: an unswept hold another user just took over. */
  async expireLiveHoldOfSeat(trx: Knex.Transaction, scheduleId: string, seatNo: number): Promise<{ id: string; user_id: string } | undefined> {
    const { rows } = await trx.raw(
      `update reservations set status = 'EXPIRED', updated_at = now()
        where schedule_id = ? and seat_no = ? and status = 'HELD'
        returning id, user_id`,
      [scheduleId, seatNo],
    );
    return rows[0];
  },

  /** HELD → `status`; the seat's conditional write already decided, this only records it. */
  async finish(trx: Knex.Transaction, ids: string[], status: Exclude<ReservationStatus, 'HELD'>, paymentId: string | null = null): Promise<void> {
    if (ids.length === 0) return;
    await trx('reservations')
      .whereIn('id', ids)
      .andWhere({ status: 'HELD' })
      .update({ status, updated_at: trx.fn.now(), ...(paymentId ? { payment_id: paymentId } : {}) });
  },

  find(db: Knex, id: string): Promise<ReservationRow | undefined> {
    return db('reservations').where({ id }).first();
  },

  /** The reservation with the concert of its schedule (to name a refused cancel). */
  findWithConcert(db: Knex, id: string): Promise<(ReservationRow & { concert_id: string }) | undefined> {
    return db('reservations as r').join('schedules as s', 's.id', 'r.schedule_id').where('r.id', id).first('r.*', 's.concert_id');
  },

  /**
   * The user's reservations newest first, `limit` of them, after `after` (the exact `created_at`
   * text and id of the previous page's last row: keyset paging, stable while new ones arrive).
   */
  listByUser(db: Knex, userId: string, { limit, after }: { limit: number; after?: [string, string] }): Promise<Array<ReservationRow & { created_at_key: string }>> {
    return db('reservations')
      .select('*', db.raw('created_at::text as created_at_key'))
      .where({ user_id: userId })
      .modify((q) => {
        if (after) q.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', after);
      })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(limit);
  },

  /** One more live hold for the user on the schedule, only while under `limit`: false = limit reached. */
  async takeHoldSlot(trx: Knex.Transaction, userId: string, scheduleId: string, limit: number): Promise<boolean> {
    const { rows } = await trx.raw(
      `insert into hold_counts as h (user_id, schedule_id, n) values (?, ?, 1)
       on conflict (user_id, schedule_id) do update set n = h.n + 1 where h.n < ?
       returning n`,
      [userId, scheduleId, limit],
    );
    return rows.length === 1;
  },

  async giveBackHoldSlot(trx: Knex.Transaction, userId: string, scheduleId: string, count = 1): Promise<void> {
    await trx.raw(`update hold_counts set n = greatest(n - ?, 0) where user_id = ? and schedule_id = ?`, [count, userId, scheduleId]);
  },
};
