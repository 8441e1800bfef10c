import { scheduleIdParams } from '@ticketing/contracts';
import { assertAdmittedFor, parseOrThrow, ProblemError } from '@ticketing/http';
import { Router } from 'express';
import type { SeatStatusRepository } from './seat-status.repository';

/**
 * `GET /api/v1/schedules/{scheduleId}/seats`: seats 1..N with status and price, never who holds them,
 * for fans admitted to the sale of the date's concert (403 WRONG_SALE for another concert's).
 * The body is serialized once per state of the read model; its ETag lets a poller get 304 instead.
 */
export function createSeatsRouter(deps: { seats: SeatStatusRepository }): Router {
  const router = Router();
  router.get('/api/v1/schedules/:scheduleId/seats', async (req, res) => {
    const { scheduleId } = parseOrThrow(scheduleIdParams, req.params, 'path');
    const concertId = await deps.seats.concertOf(scheduleId);
    if (!concertId) throw new ProblemError('NOT_FOUND', `no schedule ${scheduleId}`);
    assertAdmittedFor(req.caller, concertId);
    const listing = await deps.seats.listSeats(scheduleId);
    if (!listing) throw new ProblemError('NOT_FOUND', `no schedule ${scheduleId}`);
    // With the ETag set, express answers a matching If-None-Match with 304 and does not hash the body.
    res.set('ETag', listing.etag).type('json').send(listing.json);
  });
  return router;
}
