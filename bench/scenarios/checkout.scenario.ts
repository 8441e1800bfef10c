import { commonSchema, loadConfig, resolveSecrets, SERVICES, withDatabase, type ServiceName } from '@ticketing/config';
import { createDatabase, type Database } from '@ticketing/db';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { createSessionTokens } from '../../apps/queue-gateway/src/sessions/session-token';
import { checkCheckoutInvariants } from '../../infra/e2e/invariants';
import { createBookableDate, inBatches, runAutocannon, sleep } from '../lib/load';
import { latencySummary, type Check, type Scenario, type ScenarioResult } from '../lib/report';

const config = loadConfig(
  commonSchema.extend({
    GATEWAY_URL: z.string().url().default('http://127.0.0.1:3000'),
    SESSION_JWT_SECRET: z.string().optional(),
    ADMIN_API_KEY: z.string().optional(),
    BENCH_DURATION_S: z.coerce.number().min(1).default(20),
    /** Checkouts started per second (each is a hold then a payment). */
    BENCH_CHECKOUT_RATE: z.coerce.number().int().min(1).default(100),
    /** Enough that a connection's pacing never waits on a slow answer (each has one request in flight). */
    BENCH_CONNECTIONS: z.coerce.number().int().min(1).default(256),
  }),
);
const api = `${config.GATEWAY_URL}/api/v1`;
const PRICE = 10_000;

interface Fan {
  userId: string;
  session: string;
  queueToken: string;
  seatNo: number;
}
interface Checkout {
  fan: Fan;
  /** When the hold was sent, and how long it took to answer. */
  startedAt: number;
  holdMs?: number;
  /** When the payment was sent (autocannon paces each connection, so it may wait between the two). */
  paySentAt?: number;
  reservationId?: string;
  paymentId?: string;
  /** The payment's Idempotency-Key: a POST whose answer the run did not see is asked again with it. */
  key?: string;
  holdStatus?: number;
  payStatus?: number;
  /** Time the system took: hold answered + payment answered COMPLETED (or FAILED), without the load generator's pacing gap. */
  latencyMs?: number;
  final?: string;
}

async function json(path: string, init: RequestInit & { fan?: Fan } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(init.headers as Record<string, string>) };
  if (init.fan) Object.assign(headers, { authorization: `Bearer ${init.fan.session}`, 'x-queue-token': init.fan.queueToken });
  const res = await fetch(`${api}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}




/** Fans with a session, an ACTIVE queue token and money for one seat. */
async function readyFans(count: number): Promise<Fan[]> {
  const { SESSION_JWT_SECRET } = resolveSecrets(config, ['SESSION_JWT_SECRET']);
  const tokens = createSessionTokens({ secret: SESSION_JWT_SECRET, ttlSeconds: 3600, issuer: 'queue-gateway' });
  const fans: Fan[] = [];
  const seatNos = Array.from({ length: count }, (_, i) => i + 1);
  await inBatches(seatNos, 100, async (seatNo) => {
    const userId = randomUUID();
    const session = (await tokens.issue(userId)).token;
    const entered = await json('/queue/tokens', { method: 'POST', headers: { authorization: `Bearer ${session}` } });
    if (entered.status !== 201 && entered.status !== 200) throw new Error(`queue entry failed: ${entered.status} ${JSON.stringify(entered.body)}`);
    const fan = { userId, session, queueToken: entered.body.queueToken as string, seatNo };
    const charged = await json('/wallet/charges', { method: 'POST', fan, headers: { 'idempotency-key': randomUUID() }, body: JSON.stringify({ amount: PRICE }) });
    if (charged.status !== 201) throw new Error(`charge failed: ${charged.status} ${JSON.stringify(charged.body)}`);
    fans.push(fan);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const sample = await Promise.all(fans.filter((_, i) => i % 50 === 0 || i === fans.length - 1).map((fan) => json('/queue/status', { fan })));
    if (sample.every((s) => s.body.status === 'ACTIVE')) return fans;
    if (Date.now() > deadline) throw new Error(`only part of ${count} fans were admitted: start the stack with MAX_ACTIVE_USERS=${count + 500} npm start for this scenario`);
    await sleep(500);
  }
}

/**
 * A payment POST in flight when the run stopped: asked again with its key (as a client would) until
 * the answer is final. Its latency is unknown, so it is not in the percentiles.
 */
async function settle(checkout: Checkout): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const res = await json('/payments', {
      method: 'POST',
      headers: { authorization: `Bearer ${checkout.fan.session}`, 'x-queue-token': checkout.fan.queueToken, 'idempotency-key': checkout.key! },
      body: JSON.stringify({ reservationId: checkout.reservationId }),
    });
    const status = res.body.status;
    if (res.status === 201 || (res.status >= 400 && res.body.code !== 'IDEMPOTENCY_KEY_IN_FLIGHT' && res.status !== 401)) {
      checkout.final = res.status === 201 ? (status as string) : `HTTP ${res.status} ${String(res.body.code)}`;
      return;
    }
    if (res.status === 401) {
      // The queue token ended with the payment (payment.completed expires it): read the payment instead.
      const mine = await json('/reservations?limit=1', { headers: { authorization: `Bearer ${checkout.fan.session}` } });
      const r = (mine.body.reservations as { status: string }[] | undefined)?.[0];
      checkout.final = r?.status === 'SOLD' ? 'COMPLETED' : `reservation ${r?.status}`;
      return;
    }
    await sleep(200);
  }
}

/** Follows a 202 to the payment's end (the run's latency then includes the wait). */
async function follow(checkout: Checkout): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const got = await json(`/payments/${checkout.paymentId}`, { headers: { authorization: `Bearer ${checkout.fan.session}` } });
    if (got.body.status === 'COMPLETED' || got.body.status === 'FAILED') {
      checkout.final = got.body.status as string;
      checkout.latencyMs = checkout.holdMs! + (performance.now() - checkout.paySentAt!);
      return;
    }
    await sleep(100);
  }
}

function databases(): Record<'wallet' | 'payment' | 'reservation', Database> {
  const db = (service: ServiceName) => createDatabase({ url: withDatabase(config.POSTGRES_URL, SERVICES[service].database), poolMax: 2 });
  return { wallet: db('wallet'), payment: db('payment'), reservation: db('reservation') };
}

export const scenario: Scenario = {
  name: 'checkout',
  description: 'hold → pay → COMPLETED through the gateway at BENCH_CHECKOUT_RATE/s; then money conservation and no double sale over the whole databases',
  async run(): Promise<ScenarioResult> {
    const total = Math.min(10_000, Math.ceil(config.BENCH_CHECKOUT_RATE * config.BENCH_DURATION_S * 1.2));
    const scheduleId = await createBookableDate(api, { adminKey: resolveSecrets(config, ['ADMIN_API_KEY']).ADMIN_API_KEY, seatCount: total, price: PRICE, title: 'Checkout bench' });
    const fans = await readyFans(total);
    await sleep(1_000); // schedule.published reaches the reservation service (seat rows), usually in milliseconds

    const checkouts: Checkout[] = [];
    const followers: Promise<void>[] = [];
    const statuses = new Map<string, number>();
    const count = (what: string) => statuses.set(what, (statuses.get(what) ?? 0) + 1);
    let next = 0;
    type Ctx = { checkout?: Checkout };

    const result = await runAutocannon({
      url: `${api}/reservations`,
      connections: config.BENCH_CONNECTIONS,
      // Two requests per checkout.
      overallRate: config.BENCH_CHECKOUT_RATE * 2,
      duration: config.BENCH_DURATION_S,
      requests: [
        {
          method: 'POST',
          path: '/api/v1/reservations',
          setupRequest: (req, context) => {
            const fan = fans[next++];
            if (!fan) return req; // more requests than fans: the run is over in practice
            const checkout: Checkout = { fan, startedAt: performance.now() };
            checkouts.push(checkout);
            (context as Ctx).checkout = checkout;
            return {
              ...req,
              headers: { 'content-type': 'application/json', authorization: `Bearer ${fan.session}`, 'x-queue-token': fan.queueToken },
              body: JSON.stringify({ scheduleId, seatNo: fan.seatNo }),
            };
          },
          onResponse: (status, body, context) => {
            const checkout = (context as Ctx).checkout;
            count(`hold ${status}`);
            if (!checkout) return;
            checkout.holdStatus = status;
            checkout.holdMs = performance.now() - checkout.startedAt;
            if (status === 201) checkout.reservationId = JSON.parse(body).reservationId as string;
          },
        },
        {
          method: 'POST',
          path: '/api/v1/payments',
          setupRequest: (req, context) => {
            const checkout = (context as Ctx).checkout;
            if (!checkout?.reservationId) return undefined as unknown as typeof req; // hold refused: start over
            checkout.key = randomUUID();
            checkout.paySentAt = performance.now();
            return {
              ...req,
              headers: { 'content-type': 'application/json', authorization: `Bearer ${checkout.fan.session}`, 'x-queue-token': checkout.fan.queueToken, 'idempotency-key': checkout.key },
              body: JSON.stringify({ reservationId: checkout.reservationId }),
            };
          },
          onResponse: (status, body, context) => {
            const checkout = (context as Ctx).checkout;
            count(`pay ${status}`);
            if (!checkout) return;
            checkout.payStatus = status;
            const answer = JSON.parse(body) as { paymentId?: string; status?: string };
            checkout.paymentId = answer.paymentId;
            if (status === 201) {
              checkout.final = answer.status;
              checkout.latencyMs = checkout.holdMs! + (performance.now() - checkout.paySentAt!);
            } else if (status === 202) followers.push(follow(checkout));
          },
        },
      ],
    });
    await Promise.all(followers);
    const cutOff = checkouts.filter((c) => c.holdStatus === 201 && c.key && c.payStatus === undefined);
    await inBatches(cutOff, 16, settle);

    // A hold whose payment the run never sent (it ended in between) is left to expire: not a checkout.
    const started = checkouts.filter((c) => c.holdStatus === 201 && c.key);
    const completed = started.filter((c) => c.final === 'COMPLETED');
    const unanswered = started.filter((c) => c.final === undefined);
    const dbs = databases();
    let invariants: Awaited<ReturnType<typeof checkCheckoutInvariants>>;
    try {
      // Sagas whose answer the run did not see still end (the stack keeps going); wait for them first.
      for (let i = 0; i < 300; i++) {
        const [{ n }] = await dbs.payment('payments').whereIn('status', ['STARTED', 'DEBITED', 'COMPENSATING']).count<{ n: string }[]>('* as n');
        if (Number(n) === 0) break;
        await sleep(200);
      }
      invariants = await checkCheckoutInvariants(dbs);
    } finally {
      await Promise.all(Object.values(dbs).map((db) => db.destroy()));
    }

    const latency = latencySummary(completed.filter((c) => c.latencyMs !== undefined).map((c) => c.latencyMs!));
    const elapsed = result.duration;
    const checks: Check[] = [
      {
        name: 'every checkout whose hold succeeded ended COMPLETED',
        pass: completed.length === started.length && started.length > 0,
        detail: `${completed.length}/${started.length} completed (${cutOff.length} cut off by the end of the run, settled by asking again with their key), ${unanswered.length} unanswered${started.length > completed.length ? `; others: ${JSON.stringify(started.filter((c) => c.final !== 'COMPLETED').slice(0, 5).map((c) => c.final ?? `hold ${c.holdStatus} pay ${c.payStatus}`))}` : ''}`,
      },
      { name: 'no 5xx', pass: result['5xx'] === 0, detail: `answers ${JSON.stringify(Object.fromEntries(statuses))}, ${result.errors} errors/timeouts` },
      {
        name: 'money and seats over the whole databases: balance = charges - debits + refunds, every debit one sold seat or one refund, no seat sold twice',
        pass: invariants.ok,
        detail: invariants.ok ? JSON.stringify(invariants.counts) : `${invariants.problems.length} problems: ${invariants.problems.slice(0, 5).join('; ')}`,
      },
    ];
    return {
      scenario: 'checkout',
      target: `${config.BENCH_CHECKOUT_RATE} checkouts/s: p50 <= 50 ms, p99 <= 250 ms`,
      targetMet: latency.p50 <= 50 && latency.p99 <= 250 && completed.length / elapsed >= config.BENCH_CHECKOUT_RATE * 0.95,
      operations: completed.length,
      durationSeconds: elapsed,
      throughputPerSecond: completed.length / elapsed,
      latencyMs: latency,
      errors: result.errors + result['5xx'],
      checks,
      notes: [
        `latency = hold answer time + payment answer time until COMPLETED (a 202 is followed by polling); the pause autocannon's pacing leaves between the two is not counted. One fresh admitted and funded fan per checkout, ${config.BENCH_CONNECTIONS} connections`,
        `holds alone: ${JSON.stringify(latencySummary(started.map((c) => c.holdMs!)))} ms; payments alone: ${JSON.stringify(latencySummary(completed.filter((c) => c.latencyMs !== undefined).map((c) => c.latencyMs! - c.holdMs!)))} ms`,
        `per request (holds and payments together, autocannon): p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`,
      ],
    };
  },
};
