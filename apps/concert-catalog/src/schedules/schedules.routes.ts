import { concertIdParams, createScheduleRequest, type CreateScheduleResponse, type ScheduleListResponse } from '@ticketing/contracts';
import { parseOrThrow, ProblemError } from '@ticketing/http';
import { Router } from 'express';
import { requireAdmin } from '../access/require-admin';
import { createCreateScheduleHandler, type CreateScheduleDeps } from './create-schedule.handler';

/**
 * `GET /api/v1/concerts/{concertId}/schedules` (bookable dates with `availableSeats`) and
 * `POST /api/v1/admin/concerts/{concertId}/schedules` (admin → 201 `{scheduleId}`, published).
 */
export function createSchedulesRouter(deps: CreateScheduleDeps): Router {
  const createSchedule = createCreateScheduleHandler(deps);
  const router = Router();
  router.get('/api/v1/concerts/:concertId/schedules', async (req, res) => {
    const { concertId } = parseOrThrow(concertIdParams, req.params, 'path');
    if (!(await deps.concerts.exists(concertId))) throw new ProblemError('NOT_FOUND', `no concert ${concertId}`);
    const body: ScheduleListResponse = { concertId, schedules: await deps.schedules.listBookable(concertId) };
    res.json(body);
  });
  router.post('/api/v1/admin/concerts/:concertId/schedules', requireAdmin, async (req, res) => {
    const { concertId } = parseOrThrow(concertIdParams, req.params, 'path');
    const body: CreateScheduleResponse = await createSchedule(concertId, parseOrThrow(createScheduleRequest, req.body));
    res.status(201).json(body);
  });
  return router;
}
