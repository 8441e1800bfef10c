import type { CreateScheduleRequest, CreateScheduleResponse } from '@ticketing/contracts';
import { newId, type Database } from '@ticketing/db';
import { ProblemError } from '@ticketing/http';
import type { OutboxWriter } from '@ticketing/messaging';
import type { ConcertRepository } from '../concerts/concert.repository';
import type { ScheduleRepository } from './schedule.repository';
import { planSeats } from './seat-plan';

export interface CreateScheduleDeps {
  db: Database;
  concerts: ConcertRepository;
  schedules: ScheduleRepository;
  outbox: OutboxWriter;
}

export type CreateScheduleHandler = (concertId: string, request: CreateScheduleRequest) => Promise<CreateScheduleResponse>;

/**
 * Adds a date to a concert and publishes it: the schedule, its seat prices, its seats (AVAILABLE)
 * and `schedule.published` with the seat inventory commit in one transaction, or nothing does.
 */
export function createCreateScheduleHandler({ db, concerts, schedules, outbox }: CreateScheduleDeps): CreateScheduleHandler {
  return async (concertId, request) => {
    const plan = planSeats(request);
    if (!plan.ok) {
      throw new ProblemError('VALIDATION_FAILED', plan.problems.map((p) => `${p.field}: ${p.message}`).join('; '), { errors: plan.problems });
    }
    const scheduleId = newId();
    const startsAt = new Date(request.startsAt);
    const bookingOpensAt = new Date(request.bookingOpensAt);
    const bookingClosesAt = new Date(request.bookingClosesAt);
    await db.transaction(async (trx) => {
      if (!(await concerts.exists(concertId, trx))) throw new ProblemError('NOT_FOUND', `no concert ${concertId}`);
      await schedules.insert(trx, { id: scheduleId, concertId, startsAt, bookingOpensAt, bookingClosesAt, seats: plan.seats });
      await outbox.append(trx, {
        type: 'schedule.published',
        key: scheduleId,
        payload: {
          scheduleId,
          concertId,
          startsAt: startsAt.toISOString(),
          bookingOpensAt: bookingOpensAt.toISOString(),
          bookingClosesAt: bookingClosesAt.toISOString(),
          seats: plan.seats,
        },
      });
    });
    return { scheduleId };
  };
}
