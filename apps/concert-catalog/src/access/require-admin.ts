import { ProblemError } from '@ticketing/http';
import type { RequestHandler } from 'express';

/**
 * Admin routes: the gateway checked the admin key and says so in its signed credentials. Checked
 * here again so a gateway route-policy mistake cannot open them to fans.
 */
export const requireAdmin: RequestHandler = (req, _res, next) => {
  if (req.caller?.access !== 'admin') return next(new ProblemError('ADMIN_REQUIRED', 'this route is for administrators only'));
  next();
};
