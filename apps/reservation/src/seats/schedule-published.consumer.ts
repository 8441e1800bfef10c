import type { EventHandlers } from '@ticketing/messaging';

const CHUNK = 1_000;

/**
 * `schedule.published` → the schedule and its seat rows, all AVAILABLE at version 1. The consumer
 * records the message id with these rows; `on conflict do nothing` also makes a re-publication of
 * the same schedule (a new message id) harmless: it never resets a seat that is held or sold.
 */
export function schedulePublishedHandlers(): EventHandlers {
  return {
    'schedule.published': async ({ payload }, { trx }) => {
      await trx('schedules')
        .insert({
          id: payload.scheduleId,
          concert_id: payload.concertId,
          seat_count: Math.max(...payload.seats.map((s) => s.seatNo)),
          booking_opens_at: payload.bookingOpensAt,
          booking_closes_at: payload.bookingClosesAt,
        })
        .onConflict('id')
        .ignore();
      for (let i = 0; i < payload.seats.length; i += CHUNK) {
        await trx('seats')
          .insert(payload.seats.slice(i, i + CHUNK).map((s) => ({ schedule_id: payload.scheduleId, seat_no: s.seatNo, price: s.price })))
          .onConflict(['schedule_id', 'seat_no'])
          .ignore();
      }
    },
  };
}
