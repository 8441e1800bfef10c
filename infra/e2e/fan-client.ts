import { waitFor } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';

/** A fan as the public API knows them: a session, and a queue token once they lined up. */
export interface Fan {
  email: string;
  userId: string;
  session: string;
  queueToken?: string;
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  contentType: string;
  body: T;
  /** The raw body, for checks on what must never appear in it. */
  text: string;
  /** The response headers (absent on an answer made up for a failed call). */
  headers?: Headers;
}

export interface CallOptions {
  method?: string;
  fan?: Fan;
  headers?: Record<string, string>;
  body?: unknown;
}

/** One HTTP call through the gateway with the fan's session and queue token (when they have them). */
export async function call<T = Record<string, unknown>>(url: string, options: CallOptions = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (options.fan) headers.authorization = `Bearer ${options.fan.session}`;
  if (options.fan?.queueToken) headers['x-queue-token'] = options.fan.queueToken;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  Object.assign(headers, options.headers);
  const res = await fetch(url, {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: (text ? JSON.parse(text) : {}) as T, text, headers: res.headers };
}

/** Fails with the whole answer when the status is not the one expected (a bare status mismatch says too little). */
export function expectStatus<T>(answer: Answer<T>, status: number, what: string): Answer<T> {
  if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status} ${answer.text}`);
  return answer;
}

/** Signs up and logs in a new fan, as a front end would. */
export async function signUpAndLogIn(api: string, name: string): Promise<Fan> {
  const email = `${name.toLowerCase()}-${randomUUID()}@example.com`;
  const password = 'correct horse battery';
  const signUp = expectStatus(await call<{ userId: string }>(`${api}/users`, { method: 'POST', body: { email, name, password } }), 201, `sign up ${name}`);
  const logIn = expectStatus(await call<{ sessionToken: string; userId: string }>(`${api}/sessions`, { method: 'POST', body: { email, password } }), 200, `log in ${name}`);
  if (logIn.body.userId !== signUp.body.userId) throw new Error(`log in ${name}: user ${logIn.body.userId}, signed up as ${signUp.body.userId}`);
  return { email, userId: signUp.body.userId, session: logIn.body.sessionToken };
}

export interface QueueStatus {
  status: 'PRE_QUEUE' | 'WAITING' | 'ACTIVE' | 'EXPIRED';
  concertId: string;
  position: number | null;
  etaSeconds: number | null;
  opensAt: string | null;
  activeUntil: string | null;
  pollAfterMs: number;
}

/**
 * Enters the concert's waiting room; the fan keeps the queue token. A sale configured a moment ago may
 * not have reached the gateway yet (its `sale.configured` event is on the way): 404 SALE_NOT_FOUND is
 * asked again for a few seconds.
 */
export async function lineUp(api: string, fan: Fan, concertId: string): Promise<QueueStatus & { queueToken: string }> {
  const answer = await waitFor(
    async () => {
      const entry = await call<QueueStatus & { queueToken: string }>(`${api}/queue/tokens`, { method: 'POST', fan, body: { concertId } });
      return (entry.body as { code?: string }).code === 'SALE_NOT_FOUND' ? undefined : entry;
    },
    { timeoutMs: 20_000, intervalMs: 100, label: `the gateway knows the sale of ${concertId}` },
  );
  if (answer.status !== 200 && answer.status !== 201) throw new Error(`queue token: ${answer.status} ${answer.text}`);
  fan.queueToken = answer.body.queueToken;
  return answer.body;
}

export interface SaleSettings {
  queueOpensAt: string;
  saleOpensAt: string;
  maxActive: number;
  admitPerMinute: number;
  activeMinutes: number;
  mode: 'queue' | 'passthrough';
  powDifficulty: number;
}

/**
 * Sets a concert's sale (PUT /admin/concerts/{id}/sale; by default open since a minute ago, 100 slots,
 * no rate to speak of) and waits until the gateway's room has that revision, so fans entering next see it.
 */
export async function configureSale(api: string, adminKey: string, concertId: string, settings: Partial<SaleSettings> = {}): Promise<{ revision: number }> {
  const opened = new Date(Date.now() - 60_000).toISOString();
  const body: SaleSettings = { queueOpensAt: opened, saleOpensAt: opened, maxActive: 100, admitPerMinute: 1_000_000, activeMinutes: 5, mode: 'queue', powDifficulty: 0, ...settings };
  const headers = { 'x-admin-key': adminKey };
  const sale = expectStatus(await call<{ revision: number }>(`${api}/admin/concerts/${concertId}/sale`, { method: 'PUT', headers, body }), 200, 'configure the sale');
  await waitFor(
    async () => {
      const room = await call<{ sale?: { revision: number } }>(`${api}/admin/waiting-rooms/${concertId}`, { headers });
      return room.status === 200 && room.body.sale && room.body.sale.revision >= sale.body.revision;
    },
    { timeoutMs: 20_000, intervalMs: 100, label: `the gateway has revision ${sale.body.revision} of the sale of ${concertId}` },
  );
  return sale.body;
}

export async function queueStatus(api: string, fan: Fan): Promise<Answer<QueueStatus>> {
  return call<QueueStatus>(`${api}/queue/status`, { fan });
}

/** Polls the queue status (as a client does, which also keeps the waiting lease) until the fan is ACTIVE. */
export async function waitUntilActive(api: string, fan: Fan, timeoutMs = 30_000): Promise<QueueStatus> {
  return waitFor(
    async () => {
      const answer = expectStatus(await queueStatus(api, fan), 200, 'queue status');
      return answer.body.status === 'ACTIVE' ? answer.body : undefined;
    },
    { timeoutMs, intervalMs: 100, label: `${fan.email} admitted` },
  );
}
