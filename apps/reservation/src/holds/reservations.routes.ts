import { holdSeatRequest, pageQuery, reservationIdParams } from '@ticketing/contracts';
import { parseOrThrow, ProblemError } from '@ticketing/http';
import type { Request } from 'express';
import { Router } from 'express';
import { createCancelReservationHandler } from './cancel-reservation.handler';
import { createHoldSeatHandler, type HoldSeatDeps } from './hold-seat.handler';
import { createListReservationsHandler } from './list-reservations.handler';

/** The caller, as the gateway signed it: the only source of the user id. Holding and cancelling need an admitted user. */
function callerId(req: Request, { admitted }: { admitted: boolean }): string {
  const caller = req.caller;
  if (!caller?.userId) throw new ProblemError('UNAUTHENTICATED', 'this route needs a signed-in user');
  if (admitted && caller.access !== 'active') throw new ProblemError('FORBIDDEN', 'only admitted users may hold or cancel seats');
  return caller.userId;
}

/** `POST /api/v1/reservations` (hold), `GET /api/v1/reservations` (mine), `DELETE /api/v1/reservations/:reservationId` (cancel). */
export function createReservationsRouter(deps: HoldSeatDeps): Router {
  const holdSeat = createHoldSeatHandler(deps);
  const listReservations = createListReservationsHandler(deps);
  const cancelReservation = createCancelReservationHandler(deps);
  const router = Router();

  router.post('/api/v1/reservations', async (req, res) => {
    const userId = callerId(req, { admitted: true });
    res.status(201).json(await holdSeat(userId, parseOrThrow(holdSeatRequest, req.body)));
  });
  router.get('/api/v1/reservations', async (req, res) => {
    const userId = callerId(req, { admitted: false });
    res.json(await listReservations(userId, parseOrThrow(pageQuery, req.query, 'query')));
  });
  router.delete('/api/v1/reservations/:reservationId', async (req, res) => {
    const userId = callerId(req, { admitted: true });
    const { reservationId } = parseOrThrow(reservationIdParams, req.params, 'path');
    res.json(await cancelReservation(userId, reservationId));
  });
  return router;
}
