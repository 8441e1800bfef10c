import type { RequestHandler } from 'express';
import type { RequireAccess } from '../access/access.middleware';

/**
 * The access check followed, once it knows the signed-in fan, by the per-fan limit of every route.
 * Public and admin routes have no fan: the per-address limit alone applies to them.
 */
export function withUserLimit(requireAccess: RequireAccess, perUser: RequestHandler): RequireAccess {
  return (level, options) => {
    const check = requireAccess(level, options);
    if (level === 'public' || level === 'admin') return check;
    return (req, res, next) => check(req, res, (error?: unknown) => (error === undefined ? perUser(req, res, next) : next(error)));
  };
}
