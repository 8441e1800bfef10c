import { holdSeatRequest, pageQuery, reservationIdParams } from '@ticketing/contracts';
import { parseOrThrow, ProblemError } from '@ticketing/http';
import type { Request } from 'express';
import { Router } from 'express';
import { createCancelReservationHandler } from './cancel-reservation.handler';
import { createHoldSeatHandler, type HoldSeatDeps, type SignedInCaller } from './hold-seat.handler';
import { createListReservationsHandler } from './list-reservations.handler';

/**
 * The caller, as the gateway signed it: the only source of the user id (and of the sale it was
 * admitted to). Holding and cancelling need an admitted user.
 */
function signedInCaller(req: Request, { admitted }: { admitted: boolean }): SignedInCaller {
  const caller = req.caller;
  if (!caller?.userId) throw new ProblemError('UNAUTHENTICATED', 'this route needs a signed-in user');
  if (admitted && caller.access !== 'active') throw new ProblemError('FORBIDDEN', 'only admitted users may hold or cancel seats');
  return { ...caller, userId: caller.userId };
}

/** `POST /api/v1/reservations` (hold), `GET /api/v1/reservations` (mine), `DELETE /api/v1/reservations/:reservationId` (cancel). */
export function createReservationsRouter(deps: HoldSeatDeps): Router {
  const holdSeat = createHoldSeatHandler(deps);
  const listReservations = createListReservationsHandler(deps);
  const cancelReservation = createCancelReservationHandler(deps);
  const router = Router();

  router.post('/api/v1/reservations', async (req, res) => {
    const caller = signedInCaller(req, { admitted: true });
    res.status(201).json(await holdSeat(caller, parseOrThrow(holdSeatRequest, req.body)));
  });
  router.get('/api/v1/reservations', async (req, res) => {
    const { userId } = signedInCaller(req, { admitted: false });
    res.json(await listReservations(userId, parseOrThrow(pageQuery, req.query, 'query')));
  });
  router.delete('/api/v1/reservations/:reservationId', async (req, res) => {
    const caller = signedInCaller(req, { admitted: true });
    const { reservationId } = parseOrThrow(reservationIdParams, req.params, 'path');
    res.json(await cancelReservation(caller, reservationId));
  });
  return router;
}
