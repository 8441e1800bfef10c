import { scheduleIdParams, type SeatListResponse } from '@ticketing/contracts';
import { parseOrThrow, ProblemError } from '@ticketing/http';
import { Router } from 'express';
import type { SeatStatusRepository } from './seat-status.repository';

/** `GET /api/v1/schedules/{scheduleId}/seats`: seats 1..N with status and price, never who holds them. */
export function createSeatsRouter(deps: { seats: SeatStatusRepository }): Router {
  const router = Router();
  router.get('/api/v1/schedules/:scheduleId/seats', async (req, res) => {
    const { scheduleId } = parseOrThrow(scheduleIdParams, req.params, 'path');
    const body: SeatListResponse | undefined = await deps.seats.listSeats(scheduleId);
    if (!body) throw new ProblemError('NOT_FOUND', `no schedule ${scheduleId}`);
    res.json(body);
  });
  return router;
}
