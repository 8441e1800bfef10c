import createClient from 'openapi-fetch';
import { ApiProblem, NETWORK } from './problem';
import type { components, paths } from './schema';

export { ApiProblem, NETWORK };

/** The public API, typed from the gateway's OpenAPI document (schema.d.ts is generated, never edited). */
export const api = createClient<paths>({ baseUrl: '' });

export type Schemas = components['schemas'];
export type Concert = Schemas['Concert'];
export type ConcertDetail = Schemas['ConcertDetail'];
export type QueueStatus = Schemas['QueueStatus'];
export type QueueToken = Schemas['QueueToken'];
export type Schedule = Schemas['Schedule'];
export type Seat = Schemas['Seat'];
export type Reservation = Schemas['Reservation'];
export type Hold = Schemas['HoldSeatResponse'];
export type Payment = Schemas['Payment'];
export type LedgerEntry = Schemas['LedgerEntry'];
export type ProblemBody = Schemas['Problem'];

interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful answer, or an ApiProblem: every failure becomes one, with a code to word. */
export async function ok<T>(call: Promise<Outcome<T>>): Promise<T> {
  let outcome: Outcome<T>;
  try {
    outcome = await call;
  } catch {
    throw new ApiProblem(0, NETWORK, 'no answer from the server');
  }
  const { data, error, response } = outcome;
  if (response.ok) return data as T;
  throw toProblem(response, error);
}

export function toProblem(response: Response, error: unknown): ApiProblem {
  const body = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const retryAfter = Number(response.headers.get('retry-after'));
  return new ApiProblem(
    response.status,
    typeof body.code === 'string' ? body.code : `HTTP_${response.status}`,
    typeof body.detail === 'string' ? body.detail : response.statusText,
    body,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  );
}

/** A fresh Idempotency-Key (crypto.randomUUID needs a secure context; an address on a LAN is not one). */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
