import { loadConfig, SERVICE_NAMES, SERVICES, withDatabase, type ServiceName } from '@ticketing/config';
import { createDatabase, type Database } from '@ticketing/db';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { checkCheckoutInvariants } from '../../infra/e2e/invariants';
import { benchConfig } from '../lib/bench-config';
import { callApi, inWaves, type Fan as AdmittedFan } from '../lib/fans';
import { createBookableDate, createMeasurement, inBatches, sleep } from '../lib/load';
import { latencySummary, type Check, type Scenario, type ScenarioResult } from '../lib/report';

const config = loadConfig(
  z.object({
    /** Measured time, summed over the waves (the admissions between waves are not measured). */
    BENCH_DURATION_S: z.coerce.number().min(1).default(20),
    /** Checkouts started per second (each is a hold then a payment). */
    BENCH_CHECKOUT_RATE: z.coerce.number().int().min(1).default(100),
    /** Enough that a connection's pacing never waits on a slow answer (each has one request in flight). */
    BENCH_CHECKOUT_CONNECTIONS: z.coerce.number().int().min(1).default(256),
  }),
);
const { api } = benchConfig;
const PRICE = 10_000;
/**
 * Each connection makes exactly this many checkouts (hold + pay) and autocannon waits for every answer,
 * so no payment is cut off at the end of a wave and every checkout's latency is known.
 */
function checkoutsPerConnection(fans: number): number {
  // autocannon opens no more connections than requests per second asked (two per checkout).
  const connections = Math.min(config.BENCH_CHECKOUT_CONNECTIONS, config.BENCH_CHECKOUT_RATE * 2);
  return Math.max(1, Math.ceil(fans / connections));
}

interface Fan extends AdmittedFan {
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

/** Money for one seat, charged before the wave is measured (charging is the wallet-charges scenario). */
async function fund(fans: Fan[]): Promise<void> {
  await inBatches(fans, 64, async (fan) => {
    const charged = await callApi('/wallet/charges', { method: 'POST', fan, headers: { 'idempotency-key': randomUUID() }, body: JSON.stringify({ amount: PRICE }) });
    if (charged.status !== 201) throw new Error(`charge failed: ${charged.status} ${JSON.stringify(charged.body)}`);
  });
}

/**
 * A payment POST in flight when the run stopped: asked again with its key (as a client would) until
 * the answer is final. Its latency is unknown, so it is not in the percentiles.
 */
async function settle(checkout: Checkout): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const res = await callApi('/payments', {
      method: 'POST',
      headers: { authorization: `Bearer ${checkout.fan.session}`, 'x-queue-token': checkout.fan.queueToken, 'idempotency-key': checkout.key! },
      body: JSON.stringify({ reservationId: checkout.reservationId }),
    });
    const status = res.body.status;
    if (res.status === 202) {
      // The saga is still running: the first answer again. Its end is read from the payment; its latency is unknown.
      checkout.paymentId = res.body.paymentId as string;
      checkout.final = await paymentOutcome(checkout);
      return;
    }
    if (res.status === 201 || (res.status >= 400 && res.body.code !== 'IDEMPOTENCY_KEY_IN_FLIGHT' && res.body.code !== SHED && res.status !== 401)) {
      checkout.final = res.status === 201 ? (status as string) : `HTTP ${res.status} ${String(res.body.code)}`;
      return;
    }
    if (res.status === 401) {
      // The queue token ended with the payment (payment.completed expires it): read the payment instead.
      const mine = await callApi('/reservations?limit=1', { headers: { authorization: `Bearer ${checkout.fan.session}` } });
      const r = (mine.body.reservations as { status: string }[] | undefined)?.[0];
      checkout.final = r?.status === 'SOLD' ? 'COMPLETED' : `reservation ${r?.status}`;
      return;
    }
    await sleep(200);
  }
}

/** Polls the payment until it is COMPLETED or FAILED (undefined if it is neither within a minute). */
async function paymentOutcome(checkout: Checkout): Promise<string | undefined> {
  for (let i = 0; i < 600; i++) {
    const got = await callApi(`/payments/${checkout.paymentId}`, { headers: { authorization: `Bearer ${checkout.fan.session}` } });
    if (got.body.status === 'COMPLETED' || got.body.status === 'FAILED') return got.body.status as string;
    await sleep(100);
  }
  return undefined;
}

/**
 * The 503 the payment service answers when a hold made moments ago has not reached it yet (its
 * events lag under overload): a client retries after Retry-After with the same key, and so does this.
 */
const SHED = 'HOLD_NOT_YET_KNOWN';

/** Retries a payment answered 503 HOLD_NOT_YET_KNOWN after Retry-After (1 s); the latency includes the wait. */
async function retryAsTold(checkout: Checkout): Promise<void> {
  await sleep(1_000);
  await settle(checkout);
  if (checkout.final === 'COMPLETED') checkout.latencyMs = checkout.holdMs! + (performance.now() - checkout.paySentAt!);
}

/** Follows a 202 to the payment's end (the run's latency then includes the wait). */
async function follow(checkout: Checkout): Promise<void> {
  checkout.final = await paymentOutcome(checkout);
  if (checkout.final) checkout.latencyMs = checkout.holdMs! + (performance.now() - checkout.paySentAt!);
}

function databases(): Record<'wallet' | 'payment' | 'reservation', Database> {
  const db = (service: ServiceName) => createDatabase({ url: withDatabase(benchConfig.POSTGRES_URL, SERVICES[service].database), poolMax: 2 });
  return { wallet: db('wallet'), payment: db('payment'), reservation: db('reservation') };
}

/** One wave of admitted, funded fans checking out at the asked rate: autocannon paces hold → pay on each connection. */
async function checkoutWave(load: ReturnType<typeof createMeasurement>, scheduleId: string, fans: Fan[], checkouts: Checkout[], count: (what: string) => void): Promise<void> {
  const followers: Promise<void>[] = [];
  let next = 0;
  type Ctx = { checkout?: Checkout };
  const wave: Checkout[] = [];
  const perConnection = checkoutsPerConnection(fans.length);
  await load.run(
    {
      url: `${api}/reservations`,
      connections: Math.floor(fans.length / perConnection),
      // Two requests per checkout, paced at the asked rate over all connections.
      maxConnectionRequests: 2 * perConnection,
      overallRate: config.BENCH_CHECKOUT_RATE * 2,
      duration: 600, // an upper bound only: the wave ends when every connection has made its checkouts
      requests: [
        {
          method: 'POST',
          path: '/api/v1/reservations',
          setupRequest: (req, context) => {
            const fan = fans[next++];
            if (!fan) return req; // only if refused holds made connections start over: shows as `hold 401` in the answers
            const checkout: Checkout = { fan, startedAt: performance.now() };
            wave.push(checkout);
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
            const answer = JSON.parse(body) as { paymentId?: string; status?: string; code?: string };
            count(status === 503 ? `pay 503 ${answer.code}` : `pay ${status}`);
            if (!checkout) return;
            checkout.payStatus = status;
            checkout.paymentId = answer.paymentId;
            if (status === 201) {
              checkout.final = answer.status;
              checkout.latencyMs = checkout.holdMs! + (performance.now() - checkout.paySentAt!);
            } else if (status === 202) followers.push(follow(checkout));
            else if (status === 503 && answer.code === SHED) followers.push(retryAsTold(checkout));
          },
        },
      ],
    },
    // The wave's tail is measured too: 202s followed to their end, payments that got no answer (an error, a timeout) asked again.
    async () => {
      await Promise.all(followers);
      await inBatches(wave.filter((c) => c.holdStatus === 201 && c.key && c.payStatus === undefined), 16, settle);
    },
  );
  checkouts.push(...wave);
}

export const scenario: Scenario = {
  name: 'checkout',
  description: 'hold → pay → COMPLETED through the gateway at BENCH_CHECKOUT_RATE/s in waves of admitted fans; then money conservation and no double sale over the whole databases',
  async run(): Promise<ScenarioResult> {
    const total = Math.min(10_000, config.BENCH_CHECKOUT_RATE * config.BENCH_DURATION_S);
    const { concertId, scheduleId } = await createBookableDate(api, { adminKey: benchConfig.ADMIN_API_KEY, seatCount: total, price: PRICE, title: 'Checkout bench' });
    await sleep(1_000); // schedule.published reaches the reservation service (seat rows), usually in milliseconds

    const load = createMeasurement();
    const checkouts: Checkout[] = [];
    const statuses = new Map<string, number>();
    const count = (what: string) => statuses.set(what, (statuses.get(what) ?? 0) + 1);
    let seats = 0;
    let waves: number;
    try {
      waves = await inWaves(concertId, total, async (admitted) => {
        const fans = admitted.map((fan) => ({ ...fan, seatNo: ++seats }));
        await fund(fans);
        await checkoutWave(load, scheduleId, fans, checkouts, count);
      });
    } finally {
      load.close();
    }

    // A hold whose payment the run never sent (the wave ended in between) is left to expire: not a checkout.
    const started = checkouts.filter((c) => c.holdStatus === 201 && c.key);
    const completed = started.filter((c) => c.final === 'COMPLETED');
    const unanswered = started.filter((c) => c.final === undefined);
    const noAnswer = started.filter((c) => c.payStatus === undefined);
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

    const measured = load.summary(completed.length);
    const latency = latencySummary(completed.filter((c) => c.latencyMs !== undefined).map((c) => c.latencyMs!));
    const checks: Check[] = [
      {
        name: 'every checkout whose hold succeeded ended COMPLETED',
        pass: completed.length === started.length && started.length > 0,
        detail: `${completed.length}/${started.length} completed (${noAnswer.length} without an answer, settled by asking again with their key), ${unanswered.length} unanswered${started.length > completed.length ? `; others: ${JSON.stringify(started.filter((c) => c.final !== 'COMPLETED').slice(0, 5).map((c) => c.final ?? `hold ${c.holdStatus} pay ${c.payStatus}`))}` : ''}`,
      },
      {
        name: `no 5xx (but ${SHED}: 503 with Retry-After, retried)`,
        pass: load.totals.fiveXx === (statuses.get(`pay 503 ${SHED}`) ?? 0),
        detail: `answers ${JSON.stringify(Object.fromEntries(statuses))}, ${load.totals.errors} errors/timeouts`,
      },
      {
        name: 'money and seats over the whole databases: balance = charges - debits + refunds, every debit one sold seat or one refund, no seat sold twice',
        pass: invariants.ok,
        detail: invariants.ok ? JSON.stringify(invariants.counts) : `${invariants.problems.length} problems: ${invariants.problems.slice(0, 5).join('; ')}`,
      },
    ];
    const requestLatency = latencySummary(load.latenciesMs);
    return {
      scenario: 'checkout',
      target: `${config.BENCH_CHECKOUT_RATE} checkouts/s: p50 <= 100 ms, p99 <= 300 ms; <= 15 ms CPU per checkout over the five services`,
      targetMet: latency.p50 <= 100 && latency.p99 <= 300 && measured.throughputPerSecond >= config.BENCH_CHECKOUT_RATE * 0.95,
      ...measured,
      latencyMs: latency,
      errors: load.totals.errors + load.totals.fiveXx,
      checks,
      ceiling: 'pgbench-update',
      targetCpuMs: { processes: [...SERVICE_NAMES], max: 15 },
      notes: [
        `${waves} waves of at most ${benchConfig.waveFans} admitted and funded fans (the concert's sale: maxActive ${benchConfig.BENCH_MAX_ACTIVE}, a rate that does not bind), one fresh fan per checkout, up to ${config.BENCH_CHECKOUT_CONNECTIONS} connections, each making a fixed number of checkouts paced at ${config.BENCH_CHECKOUT_RATE}/s in all; a wave ends when every answer is in; a paid fan's slot ends with the payment, the others leave; time, rate and CPU over the waves only (not the admissions and charges between them)`,
        `latency = hold answer time + payment answer time until COMPLETED (a 202 is followed by polling); the pause autocannon's pacing leaves between the two is not counted`,
        `holds alone: ${JSON.stringify(latencySummary(started.map((c) => c.holdMs!)))} ms; payments alone: ${JSON.stringify(latencySummary(completed.filter((c) => c.latencyMs !== undefined).map((c) => c.latencyMs! - c.holdMs!)))} ms`,
        `per request (holds and payments together, autocannon): p50 ${requestLatency.p50} ms, p99 ${requestLatency.p99} ms`,
      ],
    };
  },
};
