import type { Knex } from 'knex';

export type PayableHoldStatus = 'HELD' | 'CANCELLED' | 'EXPIRED' | 'SOLD';

export interface PayableHoldRow {
  reservation_id: string;
  user_id: string;
  schedule_id: string;
  seat_no: number;
  price: number;
  hold_expires_at: Date;
  status: PayableHoldStatus;
  seat_version: number;
  /** The concert of the hold's date; null for holds announced before sales existed. */
  concert_id: string | null;
}

/**
 * The holds this service may charge for, learnt from the reservation service's events. Each row
 * keeps the seat version of the last event applied and ignores older ones, so duplicates and late
 * copies change nothing. It only answers "what does this hold cost, whose is it, is it still live":
 * the reservation service stays the judge when the saga asks it to confirm.
 */
export const payableHoldRepository = {
  async recordHeld(trx: Knex.Transaction, hold: Omit<PayableHoldRow, 'status'>): Promise<void> {
    await trx.raw(
      `insert into payable_holds (reservation_id, user_id, schedule_id, seat_no, price, hold_expires_at, status, seat_version, concert_id)
       values (?, ?, ?, ?, ?, ?, 'HELD', ?, ?)
       on conflict (reservation_id) do update
         set status = 'HELD', hold_expires_at = excluded.hold_expires_at, seat_version = excluded.seat_version, updated_at = now()
       where payable_holds.seat_version < excluded.seat_version`,
      [hold.reservation_id, hold.user_id, hold.schedule_id, hold.seat_no, hold.price, hold.hold_expires_at, hold.seat_version, hold.concert_id],
    );
  },

  /** A later fact about a hold we know (a hold we never saw cannot be paid for here anyway). */
  async recordEnded(trx: Knex.Transaction, reservationId: string, status: Exclude<PayableHoldStatus, 'HELD'>, seatVersion: number): Promise<void> {
    await trx('payable_holds')
      .where({ reservation_id: reservationId })
      .where('seat_version', '<', seatVersion)
      .update({ status, seat_version: seatVersion, updated_at: trx.fn.now() });
  },

  find(db: Knex, reservationId: string): Promise<PayableHoldRow | undefined> {
    return db('payable_holds').where({ reservation_id: reservationId }).first();
  },
};
