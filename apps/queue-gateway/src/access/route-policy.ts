import type { AccessLevel } from '@ticketing/http';

export type Upstream = 'gateway' | 'concert-catalog' | 'reservation' | 'wallet' | 'payment';

export interface RoutePolicy {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  /** Express path under /api/v1. */
  path: string;
  access: AccessLevel;
  upstream: Upstream;
}

/**
 * Who may call what, and who answers: the public API table of the design brief. `user` = a session;
 * `queue` = a session and a queue token of the same user; `active` = the same, admitted; `admin` = the admin key.
 */
export const ROUTE_POLICY: readonly RoutePolicy[] = [
  { method: 'POST', path: '/users', access: 'public', upstream: 'gateway' },
  { method: 'POST', path: '/sessions', access: 'public', upstream: 'gateway' },
  { method: 'POST', path: '/queue/tokens', access: 'user', upstream: 'gateway' },
  { method: 'GET', path: '/queue/challenge', access: 'user', upstream: 'gateway' },
  { method: 'GET', path: '/queue/status', access: 'queue', upstream: 'gateway' },
  { method: 'GET', path: '/queue/events', access: 'queue', upstream: 'gateway' },
  { method: 'DELETE', path: '/queue/tokens/me', access: 'queue', upstream: 'gateway' },
  { method: 'GET', path: '/admin/waiting-rooms/:concertId', access: 'admin', upstream: 'gateway' },
  { method: 'GET', path: '/concerts', access: 'public', upstream: 'concert-catalog' },
  { method: 'GET', path: '/concerts/:concertId', access: 'public', upstream: 'concert-catalog' },
  { method: 'GET', path: '/concerts/:concertId/schedules', access: 'user', upstream: 'concert-catalog' },
  { method: 'GET', path: '/schedules/:scheduleId/seats', access: 'active', upstream: 'concert-catalog' },
  { method: 'POST', path: '/admin/concerts', access: 'admin', upstream: 'concert-catalog' },
  { method: 'POST', path: '/admin/concerts/:concertId/schedules', access: 'admin', upstream: 'concert-catalog' },
  { method: 'PUT', path: '/admin/concerts/:concertId/sale', access: 'admin', upstream: 'concert-catalog' },
  { method: 'GET', path: '/admin/concerts/:concertId/sale', access: 'admin', upstream: 'concert-catalog' },
  { method: 'POST', path: '/reservations', access: 'active', upstream: 'reservation' },
  { method: 'GET', path: '/reservations', access: 'user', upstream: 'reservation' },
  { method: 'DELETE', path: '/reservations/:reservationId', access: 'active', upstream: 'reservation' },
  { method: 'POST', path: '/wallet/charges', access: 'user', upstream: 'wallet' },
  { method: 'GET', path: '/wallet', access: 'user', upstream: 'wallet' },
  { method: 'GET', path: '/wallet/transactions', access: 'user', upstream: 'wallet' },
  { method: 'POST', path: '/payments', access: 'active', upstream: 'payment' },
  { method: 'GET', path: '/payments/:paymentId', access: 'user', upstream: 'payment' },
];

export const API_PREFIX = '/api/v1';
