import { logInRequest } from '@ticketing/contracts';
import { parseOrThrow } from '@ticketing/http';
import { Router } from 'express';
import { addressOf } from '../rate-limits/rate-limits';
import { createLogInHandler, type LogInDeps } from './log-in.handler';

/** Public identity routes: `POST /api/v1/sessions` (log in → `{sessionToken, userId, expiresAt}`). */
export function createSessionsRouter(deps: LogInDeps): Router {
  const logIn = createLogInHandler(deps);
  const router = Router();
  router.post('/api/v1/sessions', async (req, res) => {
    const body = await logIn(parseOrThrow(logInRequest, req.body), { address: addressOf(req) });
    // A bearer credential: no cache may keep it (as RFC 6749 §5.1 asks for access tokens).
    res.set('Cache-Control', 'no-store').json(body);
  });
  return router;
}
