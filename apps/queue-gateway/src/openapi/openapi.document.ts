import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import {
  concertListResponse,
  createConcertRequest,
  createConcertResponse,
  createScheduleRequest,
  createScheduleResponse,
  holdSeatRequest,
  holdSeatResponse,
  chargeRequest,
  chargeResponse,
  createPaymentRequest,
  ledgerQuery,
  ledgerResponse,
  listReservationsResponse,
  pageQuery,
  paymentView,
  walletView,
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
import { z, type AnyZodObject, type ZodTypeAny } from 'zod';
import { API_PREFIX, ROUTE_POLICY } from '../access/route-policy';

const SECURITY: Record<string, RouteConfig['security']> = {
  public: [],
  user: [{ session: [] }],
  queue: [{ session: [], queueToken: [] }],
  active: [{ session: [], queueToken: [] }],
  admin: [{ adminKey: [] }],
};

/** Request and response schemas of the routes whose contracts exist; the same zod objects validate requests. */
interface RouteDoc {
  request?: ZodTypeAny;
  /** Query parameters (the same schema the service validates them with). */
  query?: AnyZodObject;
  response?: ZodTypeAny;
  status?: number;
  summary: string;
  /** Needs an `Idempotency-Key` header (same key and body → the first answer again). */
  idempotent?: boolean;
  /** Further answers worth documenting: status → description. */
  answers?: Record<number, string>;
}

const IDEMPOTENCY_ANSWERS = {
  409: 'IDEMPOTENCY_KEY_IN_FLIGHT: a request with this key is still being processed',
  422: 'IDEMPOTENCY_KEY_REUSED: this key was used for a different request',
};

export const BODIES: Record<string, RouteDoc> = {
  'POST /users': { request: signUpRequest, response: signUpResponse, status: 201, summary: 'Sign up' },
  'POST /sessions': { request: logInRequest, response: logInResponse, status: 200, summary: 'Log in (the slow password check happens here, once)' },
  'POST /queue/tokens': { response: queueTokenResponse, status: 201, summary: 'Enter the waiting room (the same user gets the same place back)' },
  'GET /queue/status': { response: queueStatusResponse, status: 200, summary: 'My place in the waiting room' },
  'GET /queue/events': { summary: 'My place as server-sent events (`event: status`, data = QueueStatus), pushed when it changes' },
  'DELETE /queue/tokens/me': { status: 204, summary: 'Leave the waiting room, or give up an active slot' },
  'GET /concerts': { query: pageQuery, response: concertListResponse, summary: 'Concerts, oldest first (`limit`, `cursor` = nextCursor)' },
  'GET /concerts/:concertId/schedules': { response: scheduleListResponse, summary: "A concert's bookable dates with availableSeats" },
  'GET /schedules/:scheduleId/seats': { response: seatListResponse, summary: 'Seats 1..N with status and price' },
  'POST /admin/concerts': { request: createConcertRequest, response: createConcertResponse, status: 201, summary: 'Create a concert' },
  'POST /admin/concerts/:concertId/schedules': { request: createScheduleRequest, response: createScheduleResponse, status: 201, summary: 'Create and publish a date (seats and prices)' },
  'POST /reservations': { request: holdSeatRequest, response: holdSeatResponse, status: 201, summary: 'Hold a seat for HOLD_TTL (409 SEAT_UNAVAILABLE / HOLD_LIMIT_REACHED)' },
  'GET /reservations': { query: pageQuery, response: listReservationsResponse, summary: 'My reservations, newest first (`limit`, `cursor` = nextCursor)' },
  'DELETE /reservations/:reservationId': { summary: 'Cancel my hold' },
  'POST /wallet/charges': {
    request: chargeRequest,
    response: chargeResponse,
    status: 201,
    idempotent: true,
    summary: 'Add money to my wallet (400 INVALID_AMOUNT unless a whole number 1..MAX_CHARGE)',
    answers: IDEMPOTENCY_ANSWERS,
  },
  'GET /wallet': { response: walletView, summary: 'My balance' },
  'GET /wallet/transactions': { query: ledgerQuery, response: ledgerResponse, summary: 'My ledger, newest first (`limit`, `before` = nextCursor)' },
  'POST /payments': {
    request: createPaymentRequest,
    response: paymentView,
    status: 201,
    idempotent: true,
    summary: 'Pay for my hold from my wallet: 201 COMPLETED when the checkout ends within a few seconds, else 202 with the payment to poll',
    answers: {
      202: 'the checkout is still running: poll GET /payments/{paymentId} (Location header)',
      402: 'INSUFFICIENT_BALANCE: the wallet does not cover the price (payment FAILED, nothing taken)',
      404: 'no such hold of mine',
      409: 'HOLD_EXPIRED (refunded if money was taken), SEAT_UNAVAILABLE, DUPLICATE_PAYMENT (the hold already has a payment) or IDEMPOTENCY_KEY_IN_FLIGHT',
      422: IDEMPOTENCY_ANSWERS[422],
      503: 'HOLD_NOT_YET_KNOWN: a hold made moments ago has not reached the payment service yet; ask again after Retry-After with the same Idempotency-Key',
    },
  },
  'GET /payments/:paymentId': { response: paymentView, summary: 'My payment (`stalled` = a step has waited too long; it keeps being retried)' },
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
      request: {
        ...(body?.request ? { body: { content: { 'application/json': { schema: body.request } } } } : {}),
        ...(body?.query ? { query: body.query } : {}),
        ...(body?.idempotent ? { headers: z.object({ 'Idempotency-Key': z.string().min(1).max(255).openapi({ description: 'a fresh key (e.g. a UUID) per intended operation; reuse it when retrying; kept at least 24 hours' }) }) } : {}),
      },
      responses: {
        [status]: body?.response ? { description: 'OK', content: { 'application/json': { schema: body.response } } } : { description: 'OK' },
        400: { description: 'invalid input', ...problem },
        ...(route.access !== 'public' ? { 401: { description: 'missing, malformed, forged or expired credentials', ...problem } } : {}),
        ...(route.access === 'active' || route.access === 'admin' ? { 403: { description: 'not admitted yet (NOT_ADMITTED with position and ETA) or not admin', ...problem } } : {}),
        ...Object.fromEntries(
          Object.entries(body?.answers ?? {}).map(([code, description]) => [code, code === '202' ? { description, content: { 'application/json': { schema: body!.response! } } } : { description, ...problem }]),
        ),
      },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Concert ticketing API', version: '1.0.0', description: 'Every error is application/problem+json with a stable `code`.' },
    servers: [{ url: '/' }],
  });
}
