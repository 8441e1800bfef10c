import type { HoldSeatRequest, HoldSeatResponse } from '@ticketing/contracts';
import { newId } from '@ticketing/db';
import { assertAdmittedFor, ProblemError, type CallerIdentity } from '@ticketing/http';
import type { NewEvent, OutboxWriter } from '@ticketing/messaging';
import type { Knex } from 'knex';
import { holdRefusal, seatKey } from './reservation.domain';
import { reservationRepository as reservations, seatRepository as seats, type HoldAttempt } from './seat.repository';

export interface HoldSeatDeps {
  db: Knex;
  outbox: OutboxWriter;
  holdTtlSeconds: number;
  /** Live holds one user may have on one schedule. */
  holdLimit: number;
  /** Told each committed hold's deadline (the process's sweeper: see `HoldExpirySweeper.holdMade`). */
  onHeld?: (holdExpiresAt: Date) => void;
}

/** The hold's write matched nothing; carries what the schedule and seat looked like, to name the refusal. */
class HoldRefused extends Error {
  constructor(readonly seen?: Pick<Extract<HoldAttempt, { outcome: 'REFUSED' }>, 'schedule' | 'seatExists'>) {
    super('hold refused');
  }
}

/** The caller as the gateway signed it, with its user id (the route checked there is one). */
export type SignedInCaller = CallerIdentity & { userId: string };

/**
 * Holds a seat for the caller: one conditional, versioned write on the seat row, the reservation,
 * the per-user slot and `reservation.held` (with the date's concert) in one transaction. Any refusal
 * rolls it all back. The write also requires the date to belong to the concert whose sale admitted
 * the caller, so a fan admitted for another concert changes nothing and gets 403 WRONG_SALE.
 *
 * The common case (an AVAILABLE seat) is one statement plus the outbox row: BEGIN, hold, outbox,
 * COMMIT; a refusal is BEGIN, hold, ROLLBACK. Only a hold past its deadline that no sweeper has
 * released yet takes the longer way, which also ends the previous hold.
 */
export function createHoldSeatHandler({ db, outbox, holdTtlSeconds, holdLimit, onHeld }: HoldSeatDeps) {
  const limitReached = () =>
    new ProblemError('HOLD_LIMIT_REACHED', `you already hold ${holdLimit} seats on this schedule; pay for or cancel one first`, { limit: holdLimit });

  return async function holdSeat(caller: SignedInCaller, { scheduleId, seatNo }: HoldSeatRequest): Promise<HoldSeatResponse> {
    const { userId } = caller;
    const reservationId = newId();
    try {
      const held = await db.transaction(async (trx) => {
        const key = seatKey(scheduleId, seatNo);
        const attempt = await seats.holdAvailable(trx, { scheduleId, seatNo, userId, reservationId, holdTtlSeconds, holdLimit, concertId: caller.sale?.concertId ?? null });
        if (attempt.outcome === 'HOLD_LIMIT_REACHED') throw limitReached();
        if (attempt.outcome === 'REFUSED') throw new HoldRefused(attempt);
        if (attempt.outcome === 'HELD') {
          const { seat } = attempt;
          const holdExpiresAt = seat.holdExpiresAt.toISOString();
          await outbox.append(trx, {
            type: 'reservation.held',
            key,
            payload: { reservationId, scheduleId, seatNo, userId, seatVersion: seat.version, price: seat.price, holdExpiresAt, concertId: seat.concertId },
          } satisfies NewEvent<'reservation.held'>);
          return { reservationId, status: 'HELD' as const, holdExpiresAt, price: seat.price };
        }

        // LAPSED_HOLD: the seat is still HELD past its deadline; take it over if that is still so,
        // and only for a caller admitted to this date's concert (the first statement did not look).
        assertAdmittedFor(caller, attempt.concertId);
        const seat = await seats.hold(trx, { scheduleId, seatNo, userId, reservationId, holdTtlSeconds });
        if (!seat) throw new HoldRefused();
        const events: NewEvent[] = [];

        // Took over a hold past its deadline that no sweeper had released yet: it ends here.
        const previous = await reservations.expireLiveHoldOfSeat(trx, scheduleId, seatNo);
        if (previous) {
          events.push({
            type: 'hold.expired',
            key,
            payload: { reservationId: previous.id, scheduleId, seatNo, userId: previous.user_id, seatVersion: seat.version - 1 },
          } satisfies NewEvent<'hold.expired'>);
        }
        // Counter rows are always locked in user id order, so concurrent transactions cannot deadlock on them.
        const giveBackPrevious = () => (previous ? reservations.giveBackHoldSlot(trx, previous.user_id, scheduleId) : Promise.resolve());
        if (previous && previous.user_id < userId) await giveBackPrevious();
        if (!(await reservations.takeHoldSlot(trx, userId, scheduleId, holdLimit))) throw limitReached();
        if (previous && previous.user_id >= userId) await giveBackPrevious();

        await reservations.insertHeld(trx, { id: reservationId, scheduleId, seatNo, userId, price: seat.price, holdExpiresAt: seat.holdExpiresAt });
        const holdExpiresAt = seat.holdExpiresAt.toISOString();
        events.push({
          type: 'reservation.held',
          key,
          payload: { reservationId, scheduleId, seatNo, userId, seatVersion: seat.version, price: seat.price, holdExpiresAt, concertId: attempt.concertId },
        } satisfies NewEvent<'reservation.held'>);
        await outbox.append(trx, ...events);
        return { reservationId, status: 'HELD' as const, holdExpiresAt, price: seat.price };
      });
      onHeld?.(new Date(held.holdExpiresAt));
      return held;
    } catch (error) {
      if (!(error instanceof HoldRefused)) throw error;
      const { schedule, seatExists } = error.seen ?? (await seats.describe(db, scheduleId, seatNo));
      // A date of another concert than the admitted sale's is refused before anything else is told about it.
      if (schedule) assertAdmittedFor(caller, schedule.concertId);
      switch (holdRefusal(schedule, seatExists, seatNo, new Date())) {
        case 'SCHEDULE_NOT_FOUND':
          throw new ProblemError('NOT_FOUND', `schedule ${scheduleId} does not exist`);
        case 'SEAT_OUT_OF_RANGE':
          throw new ProblemError('VALIDATION_FAILED', `seatNo must be between 1 and ${schedule!.seatCount} on this schedule`, {
            errors: [{ field: 'body.seatNo', message: `must be between 1 and ${schedule!.seatCount}` }],
          });
        case 'SEAT_NOT_FOUND':
          throw new ProblemError('NOT_FOUND', `seat ${seatNo} does not exist on schedule ${scheduleId}`);
        case 'BOOKING_CLOSED':
          throw new ProblemError('BOOKING_CLOSED', 'booking is not open for this schedule');
        case 'SEAT_UNAVAILABLE':
          throw new ProblemError('SEAT_UNAVAILABLE', `seat ${seatNo} is already taken`);
      }
    }
  };
}
