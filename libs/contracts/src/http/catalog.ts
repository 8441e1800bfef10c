import { z } from './zod';
import { ids, isoTime, money, seatNo } from '../events/primitives';
import { nextCursor } from './paging';

/** Seats a schedule may have: the same bound as a seat number in the events. */
export const MAX_SEAT_COUNT = 10_000;
export const DEFAULT_SEAT_COUNT = 50;

const text = (max: number, example: string) => z.string().trim().min(1).max(max).openapi({ example });

/** Path parameters; a malformed id is a 400, not a 404. */
export const concertIdParams = z.object({ concertId: ids.concert });
export const scheduleIdParams = z.object({ scheduleId: ids.schedule });

/** POST /api/v1/admin/concerts */
export const createConcertRequest = z
  .object({
    title: text(200, 'Midnight Echoes World Tour'),
    artist: text(200, 'The Lanterns'),
    venue: text(200, 'Olympic Hall, Seoul'),
    description: z.string().trim().max(2000).optional(),
  })
  .strict()
  .openapi('CreateConcertRequest');
export type CreateConcertRequest = z.infer<typeof createConcertRequest>;

export const createConcertResponse = z.object({ concertId: ids.concert }).openapi('CreateConcertResponse');
export type CreateConcertResponse = z.infer<typeof createConcertResponse>;

export const priceSection = z
  .object({
    fromSeat: seatNo,
    toSeat: seatNo,
    price: money,
  })
  .strict()
  .openapi('PriceSection', { description: 'seats fromSeat..toSeat (inclusive) at one price' });
export type PriceSection = z.infer<typeof priceSection>;

/**
 * POST /api/v1/admin/concerts/{concertId}/schedules. Give either `price` (every seat) or
 * `priceSections` covering seats 1..seatCount exactly once. Booking opens before it closes, and
 * closes no later than the show starts. (The catalog checks these cross-field rules and answers
 * 400 VALIDATION_FAILED naming the field.)
 */
export const createScheduleRequest = z
  .object({
    startsAt: isoTime,
    bookingOpensAt: isoTime,
    bookingClosesAt: isoTime,
    seatCount: z.number().int().min(1).max(MAX_SEAT_COUNT).default(DEFAULT_SEAT_COUNT),
    price: money.optional().openapi({ description: 'whole won, every seat' }),
    priceSections: z.array(priceSection).min(1).max(100).optional(),
  })
  .strict()
  .openapi('CreateScheduleRequest');
export type CreateScheduleRequest = z.infer<typeof createScheduleRequest>;

export const createScheduleResponse = z.object({ scheduleId: ids.schedule }).openapi('CreateScheduleResponse');
export type CreateScheduleResponse = z.infer<typeof createScheduleResponse>;

export const concertSummary = z
  .object({
    concertId: ids.concert,
    title: z.string(),
    artist: z.string(),
    venue: z.string(),
    description: z.string().nullable(),
  })
  .openapi('Concert');
export type ConcertSummary = z.infer<typeof concertSummary>;

/** GET /api/v1/concerts */
export const concertListResponse = z.object({ concerts: z.array(concertSummary), nextCursor }).openapi('ConcertList');
export type ConcertListResponse = z.infer<typeof concertListResponse>;

export const scheduleSummary = z
  .object({
    scheduleId: ids.schedule,
    concertId: ids.concert,
    startsAt: isoTime,
    bookingOpensAt: isoTime,
    bookingClosesAt: isoTime,
    seatCount: z.number().int(),
    availableSeats: z.number().int().min(0),
    minPrice: money,
    maxPrice: money,
  })
  .openapi('Schedule');
export type ScheduleSummary = z.infer<typeof scheduleSummary>;

/** GET /api/v1/concerts/{concertId}/schedules: bookable dates only (window open now, seats left). */
export const scheduleListResponse = z.object({ concertId: ids.concert, schedules: z.array(scheduleSummary) }).openapi('ScheduleList');
export type ScheduleListResponse = z.infer<typeof scheduleListResponse>;

export const SEAT_STATUSES = ['AVAILABLE', 'HELD', 'SOLD'] as const;
export const seatStatus = z.enum(SEAT_STATUSES);
export type SeatStatus = z.infer<typeof seatStatus>;

/** One seat as anyone may see it: never who holds or bought it. */
export const seatView = z.object({ seatNo, status: seatStatus, price: money }).openapi('Seat');
export type SeatView = z.infer<typeof seatView>;

/** GET /api/v1/schedules/{scheduleId}/seats: seats 1..N in order. */
export const seatListResponse = z.object({ scheduleId: ids.schedule, concertId: ids.concert, seats: z.array(seatView) }).openapi('SeatList');
export type SeatListResponse = z.infer<typeof seatListResponse>;
