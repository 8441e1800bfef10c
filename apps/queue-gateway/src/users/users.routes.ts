import { signUpRequest, type SignUpResponse } from '@ticketing/contracts';
import { parseOrThrow } from '@ticketing/http';
import { Router, type RequestHandler } from 'express';
import { createSignUpHandler, type SignUpDeps } from './sign-up.handler';

export interface UsersRouterDeps extends SignUpDeps {
  /** The sign-up limit per client address, taken before anything else (so 409 EMAIL_TAKEN is rate-limited too). */
  limit: RequestHandler;
}

/** Public identity routes: `POST /api/v1/users` (sign up → 201 `{userId}`). */
export function createUsersRouter({ limit, ...deps }: UsersRouterDeps): Router {
  const signUp = createSignUpHandler(deps);
  const router = Router();
  router.post('/api/v1/users', limit, async (req, res) => {
    const body: SignUpResponse = await signUp(parseOrThrow(signUpRequest, req.body));
    res.status(201).json(body);
  });
  return router;
}
