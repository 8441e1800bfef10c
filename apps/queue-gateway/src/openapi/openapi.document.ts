import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import {
  concertDetailResponse,
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
  saleResponse,
  saleSettingsRequest,
  queueStatusResponse,
  concertIdParams,
  queueChallengeResponse,
  queueEntryRequest,
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
  /** A stable name for generated clients (e.g. openapi-typescript's `operations`). */
  operationId: string;
  request?: ZodTypeAny;
  /** Query parameters (the same schema the service validates them with). */
  query?: AnyZodObject;
  response?: ZodTypeAny;
  status?: number;
  summary: string;
  /** Needs an `Idempotency-Key` header (same key and body → the first answer again). */
  idempotent?: boolean;
  /** Further answers clients must handle: status → description (each a problem+json, but a 202). */
  answers?: Record<number, string>;
}

const IDEMPOTENCY_ANSWERS = {
  409: 'IDEMPOTENCY_KEY_IN_FLIGHT: a request with this key is still being processed',
  422: 'IDEMPOTENCY_KEY_REUSED: this key was used for a different request',
};

export const BODIES: Record<string, RouteDoc> = {
  'POST /users': {
    operationId: 'signUp',
    request: signUpRequest,
    response: signUpResponse,
    status: 201,
    summary: 'Sign up',
    answers: { 409: 'EMAIL_TAKEN: an account with this email exists (log in instead)' },
  },
  'POST /sessions': {
    operationId: 'logIn',
    request: logInRequest,
    response: logInResponse,
    status: 200,
    summary: 'Log in (the slow password check happens here, once)',
    answers: { 401: 'INVALID_CREDENTIALS: unknown email or wrong password (the two answer alike)' },
  },
  'POST /queue/tokens': {
    operationId: 'enterQueue',
    request: queueEntryRequest,
    response: queueTokenResponse,
    status: 201,
    summary: "Enter a concert's waiting room (the same user gets the same place back; before the sale opens, the pre-queue)",
    answers: {
      403: 'PROOF_OF_WORK_REQUIRED: this sale asks for a proof-of-work (GET /queue/challenge) and `proof` is missing, wrong, not yours or used already',
      404: 'SALE_NOT_FOUND: the concert has no sale with a waiting room',
      409: 'SALE_NOT_OPEN: the waiting room opens later (`opensAt`)',
    },
  },
  'GET /queue/challenge': {
    operationId: 'getQueueChallenge',
    query: concertIdParams,
    response: queueChallengeResponse,
    summary: "A proof-of-work challenge for entering a sale's waiting room (when the sale asks for one: `difficulty` > 0)",
  },
  'GET /admin/waiting-rooms/:concertId': {
    operationId: 'getWaitingRoom',
    summary: "A sale's waiting room: its settings, counts, measured admission rate and the record of the pre-queue's draw",
    answers: { 404: 'SALE_NOT_FOUND: the concert has no sale with a waiting room' },
  },
  'GET /queue/status': { operationId: 'getQueueStatus', response: queueStatusResponse, status: 200, summary: 'My place in the waiting room' },
  'GET /queue/events': { operationId: 'streamQueueStatus', summary: 'My place as server-sent events (`event: status`, data = QueueStatus), pushed when it changes' },
  'DELETE /queue/tokens/me': { operationId: 'leaveQueue', status: 204, summary: 'Leave the waiting room, or give up an active slot' },
  'GET /concerts': { operationId: 'listConcerts', query: pageQuery, response: concertListResponse, summary: 'Concerts, oldest first (`limit`, `cursor` = nextCursor)' },
  'GET /concerts/:concertId': {
    operationId: 'getConcert',
    response: concertDetailResponse,
    summary: "A concert and its sale's public part: when the waiting room and the sale open, and the mode (`sale` null until one is configured)",
    answers: { 404: 'NOT_FOUND: no such concert' },
  },
  'GET /concerts/:concertId/schedules': {
    operationId: 'listSchedules',
    response: scheduleListResponse,
    summary: "A concert's bookable dates with availableSeats",
    answers: { 404: 'NOT_FOUND: no such concert' },
  },
  'GET /schedules/:scheduleId/seats': {
    operationId: 'listSeats',
    response: seatListResponse,
    summary: 'Seats 1..N with status and price',
    answers: { 404: 'NOT_FOUND: no such date' },
  },
  'POST /admin/concerts': { operationId: 'createConcert', request: createConcertRequest, response: createConcertResponse, status: 201, summary: 'Create a concert' },
  'POST /admin/concerts/:concertId/schedules': {
    operationId: 'createSchedule',
    request: createScheduleRequest,
    response: createScheduleResponse,
    status: 201,
    summary: 'Create and publish a date (seats and prices)',
    answers: { 404: 'NOT_FOUND: no such concert' },
  },
  'PUT /admin/concerts/:concertId/sale': {
    operationId: 'configureSale',
    request: saleSettingsRequest,
    response: saleResponse,
    status: 200,
    summary: "Set or replace the concert's sale (its waiting room's opening, cap and rate); each change adds one to `revision` and is published as sale.configured",
    answers: { 404: 'NOT_FOUND: no such concert' },
  },
  'GET /admin/concerts/:concertId/sale': {
    operationId: 'getSale',
    response: saleResponse,
    summary: "The concert's sale as set, with its revision",
    answers: { 404: 'NOT_FOUND: no such concert; SALE_NOT_FOUND: no sale configured yet' },
  },
  'POST /reservations': {
    operationId: 'holdSeat',
    request: holdSeatRequest,
    response: holdSeatResponse,
    status: 201,
    summary: 'Hold a seat for HOLD_TTL',
    answers: {
      404: 'NOT_FOUND: no such date, or no such seat on it',
      409: 'SEAT_UNAVAILABLE: someone else holds or bought the seat; HOLD_LIMIT_REACHED: HOLD_LIMIT live holds on this date already; BOOKING_CLOSED: the date is not open for booking',
    },
  },
  'GET /reservations': { operationId: 'listReservations', query: pageQuery, response: listReservationsResponse, summary: 'My reservations, newest first (`limit`, `cursor` = nextCursor)' },
  'DELETE /reservations/:reservationId': {
    operationId: 'cancelReservation',
    summary: 'Cancel my hold',
    answers: { 404: 'NOT_FOUND: no such reservation of mine', 409: 'RESERVATION_NOT_CANCELLABLE: it is no longer held (expired, cancelled or sold)' },
  },
  'POST /wallet/charges': {
    operationId: 'chargeWallet',
    request: chargeRequest,
    response: chargeResponse,
    status: 201,
    idempotent: true,
    summary: 'Add money to my wallet (400 INVALID_AMOUNT unless a whole number 1..MAX_CHARGE)',
    answers: IDEMPOTENCY_ANSWERS,
  },
  'GET /wallet': { operationId: 'getWallet', response: walletView, summary: 'My balance' },
  'GET /wallet/transactions': { operationId: 'listWalletTransactions', query: ledgerQuery, response: ledgerResponse, summary: 'My ledger, newest first (`limit`, `before` = nextCursor)' },
  'POST /payments': {
    operationId: 'pay',
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
  'GET /payments/:paymentId': {
    operationId: 'getPayment',
    response: paymentView,
    summary: 'My payment (`stalled` = a step has waited too long; it keeps being retried)',
    answers: { 404: 'NOT_FOUND: no such payment of mine' },
  },
};

const RETRY_AFTER = { 'Retry-After': { description: 'seconds to wait before asking again', schema: { type: 'integer' as const, minimum: 0 } } };

/** Every `:name` of an express path is an id (a uuid), as the services validate it; undefined when there is none. */
function pathParameters(path: string): AnyZodObject | undefined {
  const names = [...path.matchAll(/:(\w+)/g)].map((m) => m[1]);
  if (names.length === 0) return undefined;
  return z.object(Object.fromEntries(names.map((name) => [name, z.string().uuid()])));
}

/** The OpenAPI 3.1 document of the public API, generated from the contracts' zod schemas and the route policy. */
export function buildOpenApiDocument() {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'session', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  registry.registerComponent('securitySchemes', 'queueToken', { type: 'apiKey', in: 'header', name: 'X-Queue-Token' });
  registry.registerComponent('securitySchemes', 'adminKey', { type: 'apiKey', in: 'header', name: 'X-Admin-Key' });
  const problem = { content: { 'application/problem+json': { schema: problemResponse } } };

  for (const route of ROUTE_POLICY) {
    const body = BODIES[`${route.method} ${route.path}`];
    if (!body) throw new Error(`${route.method} ${route.path} has no entry in BODIES`);
    const status = body.status ?? 200;
    const params = pathParameters(route.path);
    registry.registerPath({
      method: route.method.toLowerCase() as RouteConfig['method'],
      path: `${API_PREFIX}${route.path.replace(/:(\w+)/g, '{$1}')}`,
      operationId: body.operationId,
      summary: body.summary,
      tags: [route.upstream],
      security: SECURITY[route.access],
      request: {
        ...(params ? { params } : {}),
        ...(body.request ? { body: { content: { 'application/json': { schema: body.request } } } } : {}),
        ...(body.query ? { query: body.query } : {}),
        ...(body.idempotent ? { headers: z.object({ 'Idempotency-Key': z.string().min(1).max(255).openapi({ description: 'a fresh key (e.g. a UUID) per intended operation; reuse it when retrying; kept at least 24 hours' }) }) } : {}),
      },
      responses: {
        [status]: body.response ? { description: 'OK', content: { 'application/json': { schema: body.response } } } : { description: 'OK' },
        400: { description: 'invalid input', ...problem },
        ...(route.access !== 'public' ? { 401: { description: 'missing, malformed, forged or expired credentials', ...problem } } : {}),
        ...(route.access === 'active' ? { 403: { description: 'NOT_ADMITTED (still waiting: position and etaSeconds) or WRONG_SALE (admitted for another concert)', ...problem } } : {}),
        ...(route.access === 'admin' ? { 403: { description: 'ADMIN_REQUIRED: no valid X-Admin-Key', ...problem } } : {}),
        429: { description: 'RATE_LIMITED: too many requests from this address or account; ask again after Retry-After seconds', headers: RETRY_AFTER, ...problem },
        ...Object.fromEntries(
          Object.entries(body.answers ?? {}).map(([code, description]) => [code, code === '202' ? { description, content: { 'application/json': { schema: body.response! } } } : { description, ...problem }]),
        ),
      },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Concert ticketing API',
      version: '1.0.0',
      description: 'Every error is application/problem+json with a stable `code`.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
  });
}
