import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import {
  concertListResponse,
  createConcertRequest,
  createConcertResponse,
  createScheduleRequest,
  createScheduleResponse,
  holdSeatRequest,
  holdSeatResponse,
  listReservationsResponse,
  logInRequest,
  logInResponse,
  problemResponse,
  queueStatusResponse,
  queueTokenResponse,
  scheduleListResponse,
  seatListResponse,
  signUpRequest,
  signUpResponse,
} from '@ticketing/contracts';
import type { ZodTypeAny } from 'zod';
import { API_PREFIX, ROUTE_POLICY } from '../access/route-policy';

const SECURITY: Record<string, RouteConfig['security']> = {
  public: [],
  user: [{ session: [] }],
  queue: [{ session: [], queueToken: [] }],
  active: [{ session: [], queueToken: [] }],
  admin: [{ adminKey: [] }],
};

/** Request and response schemas of the routes whose contracts exist; the same zod objects validate requests. */
const BODIES: Record<string, { request?: ZodTypeAny; response?: ZodTypeAny; status?: number; summary: string }> = {
  'POST /users': { request: signUpRequest, response: signUpResponse, status: 201, summary: 'Sign up' },
  'POST /sessions': { request: logInRequest, response: logInResponse, status: 200, summary: 'Log in (the slow password check happens here, once)' },
  'POST /queue/tokens': { response: queueTokenResponse, status: 201, summary: 'Enter the waiting room (the same user gets the same place back)' },
  'GET /queue/status': { response: queueStatusResponse, status: 200, summary: 'My place in the waiting room' },
  'GET /queue/events': { summary: 'My place as server-sent events (`event: status`, data = QueueStatus), pushed when it changes' },
  'DELETE /queue/tokens/me': { status: 204, summary: 'Leave the waiting room, or give up an active slot' },
  'GET /concerts': { response: concertListResponse, summary: 'Concerts' },
  'GET /concerts/:concertId/schedules': { response: scheduleListResponse, summary: "A concert's bookable dates with availableSeats" },
  'GET /schedules/:scheduleId/seats': { response: seatListResponse, summary: 'Seats 1..N with status and price' },
  'POST /admin/concerts': { request: createConcertRequest, response: createConcertResponse, status: 201, summary: 'Create a concert' },
  'POST /admin/concerts/:concertId/schedules': { request: createScheduleRequest, response: createScheduleResponse, status: 201, summary: 'Create and publish a date (seats and prices)' },
  'POST /reservations': { request: holdSeatRequest, response: holdSeatResponse, status: 201, summary: 'Hold a seat for HOLD_TTL (409 SEAT_UNAVAILABLE / HOLD_LIMIT_REACHED)' },
  'GET /reservations': { response: listReservationsResponse, summary: 'My reservations' },
  'DELETE /reservations/:reservationId': { summary: 'Cancel my hold' },
};

/** The OpenAPI 3.1 document of the public API, generated from the contracts' zod schemas and the route policy. */
export function buildOpenApiDocument() {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'session', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  registry.registerComponent('securitySchemes', 'queueToken', { type: 'apiKey', in: 'header', name: 'X-Queue-Token' });
  registry.registerComponent('securitySchemes', 'adminKey', { type: 'apiKey', in: 'header', name: 'X-Admin-Key' });
  const problem = { content: { 'application/problem+json': { schema: problemResponse } } };

  for (const route of ROUTE_POLICY) {
    const body = BODIES[`${route.method} ${route.path}`];
    const status = body?.status ?? 200;
    registry.registerPath({
      method: route.method.toLowerCase() as RouteConfig['method'],
      path: `${API_PREFIX}${route.path.replace(/:(\w+)/g, '{$1}')}`,
      summary: body?.summary ?? `${route.method} ${route.path} (answered by ${route.upstream})`,
      tags: [route.upstream],
      security: SECURITY[route.access],
      request: body?.request ? { body: { content: { 'application/json': { schema: body.request } } } } : undefined,
      responses: {
        [status]: body?.response ? { description: 'OK', content: { 'application/json': { schema: body.response } } } : { description: 'OK' },
        400: { description: 'invalid input', ...problem },
        ...(route.access !== 'public' ? { 401: { description: 'missing, malformed, forged or expired credentials', ...problem } } : {}),
        ...(route.access === 'active' || route.access === 'admin' ? { 403: { description: 'not admitted yet (NOT_ADMITTED with position and ETA) or not admin', ...problem } } : {}),
      },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Concert ticketing API', version: '1.0.0', description: 'Every error is application/problem+json with a stable `code`.' },
    servers: [{ url: '/' }],
  });
}
