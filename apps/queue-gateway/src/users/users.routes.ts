import { signUpRequest, type SignUpResponse } from '@ticketing/contracts';
import { parseOrThrow } from '@ticketing/http';
import { Router } from 'express';
import { createSignUpHandler, type SignUpDeps } from './sign-up.handler';

/** Public identity routes: `POST /api/v1/users` (sign up → 201 `{userId}`). */
export function createUsersRouter(deps: SignUpDeps): Router {
  const signUp = createSignUpHandler(deps);
  const router = Router();
  router.post('/api/v1/users', async (req, res) => {
    const body: SignUpResponse = await signUp(parseOrThrow(signUpRequest, req.body));
    res.status(201).json(body);
  });
  return router;
}
