import { createPaymentRequest, paymentIdParams } from '@ticketing/contracts';
import { parseOrThrow, PROBLEM_CONTENT_TYPE, ProblemError, readIdempotencyKey, requestFingerprint } from '@ticketing/http';
import { currentTraceId } from '@ticketing/telemetry';
import type { Request } from 'express';
import { Router } from 'express';
import type { Knex } from 'knex';
import { paymentRepository as payments, toPaymentView } from './payment.repository';
import { createStartPaymentHandler, type StartPaymentDeps } from './start-payment.handler';

/** The caller, as the gateway signed it: the only source of the user id. Paying needs an admitted user. */
function callerId(req: Request, { admitted }: { admitted: boolean }): string {
  const caller = req.caller;
  if (!caller?.userId) throw new ProblemError('UNAUTHENTICATED', 'this route needs a signed-in user');
  if (admitted && caller.access !== 'active') throw new ProblemError('FORBIDDEN', 'only admitted users may pay');
  return caller.userId;
}

/** `POST /api/v1/payments` (pay for a hold), `GET /api/v1/payments/:paymentId` (mine). */
export function createPaymentsRouter(deps: StartPaymentDeps & { db: Knex }): Router {
  const startPayment = createStartPaymentHandler(deps);
  const router = Router();

  router.post('/api/v1/payments', async (req, res) => {
    const userId = callerId(req, { admitted: true });
    const { reservationId } = parseOrThrow(createPaymentRequest, req.body);
    const idempotencyKey = readIdempotencyKey(req);
    const answer = await startPayment({ userId, caller: req.caller!, reservationId, idempotencyKey, fingerprint: requestFingerprint('POST', '/api/v1/payments', { reservationId }) });
    if ('location' in answer && answer.location) res.location(answer.location);
    if (answer.status < 400) {
      res.status(answer.status).json(answer.body);
      return;
    }
    const traceId = currentTraceId();
    res
      .status(answer.status)
      .type(PROBLEM_CONTENT_TYPE)
      .send(JSON.stringify({ ...(answer.body as object), ...(traceId ? { traceId } : {}) }));
  });

  router.get('/api/v1/payments/:paymentId', async (req, res) => {
    const userId = callerId(req, { admitted: false });
    const { paymentId } = parseOrThrow(paymentIdParams, req.params, 'path');
    const row = await payments.find(deps.db, paymentId);
    // Someone else's payment is indistinguishable from a missing one.
    if (!row || row.user_id !== userId) throw new ProblemError('NOT_FOUND', `payment ${paymentId} does not exist`);
    res.json(toPaymentView(row, deps.stallAfterMs));
  });
  return router;
}
