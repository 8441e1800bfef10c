import { commonSchema, loadConfig, resolveSecrets } from '@ticketing/config';
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createSessionTokens } from '../../apps/queue-gateway/src/sessions/session-token';
import { createBookableDate, runAutocannon, sleep } from '../lib/load';
import { latencySummary, type Scenario, type ScenarioResult } from '../lib/report';

const config = loadConfig(
  commonSchema.extend({
    GATEWAY_URL: z.string().url().default('http://127.0.0.1:3000'),
    SESSION_JWT_SECRET: z.string().optional(),
    ADMIN_API_KEY: z.string().optional(),
    BENCH_DURATION_S: z.coerce.number().min(1).default(10),
    BENCH_RUSH_USERS: z.coerce.number().int().min(50).default(2_000),
    /** Which parts to run (comma-separated), e.g. `listing` to profile one path at a time. */
    BENCH_SEAT_RUSH_PARTS: z
      .string()
      .default('rush,spread,listing,lag')
      .transform((s) => s.split(',').map((p) => p.trim()))
      .pipe(z.array(z.enum(['rush', 'spread', 'listing', 'lag'])).min(1)),
  }),
);
const api = `${config.GATEWAY_URL}/api/v1`;
interface Fan {
  session: string;
  queueToken: string;
}

async function json(path: string, init: RequestInit & { fan?: Fan } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(init.headers as Record<string, string>) };
  if (init.fan) Object.assign(headers, { authorization: `Bearer ${init.fan.session}`, 'x-queue-token': init.fan.queueToken });
  const res = await fetch(`${api}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** Signed-in fans (sessions minted as POST /sessions issues them), lined up and admitted. */
async function admittedFans(count: number): Promise<Fan[]> {
  const { SESSION_JWT_SECRET } = resolveSecrets(config, ['SESSION_JWT_SECRET']);
  const tokens = createSessionTokens({ secret: SESSION_JWT_SECRET, ttlSeconds: 3600, issuer: 'queue-gateway' });
  const fans: Fan[] = [];
  for (let i = 0; i < count; i += 200) {
    fans.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(200, count - i) }, async () => {
          const session = (await tokens.issue(randomUUID())).token;
          const entered = await json('/queue/tokens', { method: 'POST', headers: { authorization: `Bearer ${session}` } });
          return { session, queueToken: entered.body.queueToken as string };
        }),
      )),
    );
  }
  const deadline = Date.now() + 20_000;
  for (;;) {
    const sample = await Promise.all(fans.filter((_, i) => i % 50 === 0 || i === fans.length - 1).map((fan) => json('/queue/status', { fan })));
    if (sample.every((s) => s.body.status === 'ACTIVE')) return fans;
    if (Date.now() > deadline) throw new Error(`only part of ${count} fans were admitted: start the stack with MAX_ACTIVE_USERS=${count + 500} npm start for this scenario`);
    await sleep(500);
  }
}



function row(name: string, target: string, targetMet: boolean, result: autocannon.Result, checks: ScenarioResult['checks'], notes: string[] = []): ScenarioResult {
  return {
    scenario: name,
    target,
    targetMet,
    operations: result.requests.total,
    durationSeconds: result.duration,
    throughputPerSecond: result.requests.average,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    errors: result.errors + result['5xx'],
    checks,
    notes,
  };
}

/**
 * The sale itself, through the gateway of the running stack: admitted fans rush one 50-seat date,
 * then hold seats spread over many dates, list seats, and the catalog's seat listing is timed to
 * show each hold (read-model lag). Needs `MAX_ACTIVE_USERS` above BENCH_RUSH_USERS.
 */
export const scenario: Scenario = {
  name: 'seat-rush',
  description: 'admitted fans rush one 50-seat date; holds over many dates; seat listing; read-model lag',
  async run() {
    const { ADMIN_API_KEY } = resolveSecrets(config, ['ADMIN_API_KEY']);
    const fans = await admittedFans(config.BENCH_RUSH_USERS);
    const results: ScenarioResult[] = [];

    const parts = new Set(config.BENCH_SEAT_RUSH_PARTS);

    // 1. The rush: every fan tries one seat of the same date at once, 40 fans per seat.
    const rushDate = await createBookableDate(api, { adminKey: ADMIN_API_KEY, seatCount: 50, price: 99_000 });
    await sleep(2_000); // schedule.published reaches the reservation service
    let next = 0;
    if (parts.has('rush')) {
      const statuses = new Map<number, number>();
      const rush = await runAutocannon({
        url: `${api}/reservations`,
        // Exactly one request per fan: `amount` under-counts with per-request setup in autocannon 8,
        // so each of N/10 connections makes exactly 10.
        connections: Math.ceil(fans.length / 10),
        maxConnectionRequests: 10,
        duration: 600, // an upper bound only: autocannon's default 10 s would cut a slow rush short
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => {
              const i = next++;
              const fan = fans[i % fans.length];
              return {
                ...req,
                headers: { ...req.headers, 'content-type': 'application/json', authorization: `Bearer ${fan.session}`, 'x-queue-token': fan.queueToken },
                body: JSON.stringify({ scheduleId: rushDate, seatNo: (i % 50) + 1 }),
              };
            },
            onResponse: (status) => void statuses.set(status, (statuses.get(status) ?? 0) + 1),
          },
        ],
      });
      const won = statuses.get(201) ?? 0;
      const refused = statuses.get(409) ?? 0;
      results.push(
        row('seat-rush', `${fans.length} fans, 50 seats: exactly 50 holds, p99 <= 200 ms, 0 5xx`, won === 50 && rush.latency.p99 <= 200 && rush['5xx'] === 0, rush, [
          { name: 'exactly 50 holds', pass: won === 50, detail: `${won} × 201` },
          { name: 'everyone else refused with 409', pass: refused === fans.length - 50, detail: `${refused} × 409; all statuses ${JSON.stringify(Object.fromEntries(statuses))}` },
          { name: 'no 5xx', pass: rush['5xx'] === 0, detail: `${rush['5xx']} × 5xx` },
        ]),
      );
    }

    // 2. Holds spread over many dates: each fan holds one seat of its own (distinct seats).
    if (parts.has('spread')) {
      const dates = await Promise.all(Array.from({ length: Math.ceil(fans.length / 50) }, () => createBookableDate(api, { adminKey: ADMIN_API_KEY, seatCount: 50, price: 99_000 })));
      await sleep(2_000);
      const spreadStatuses = new Map<number, number>();
      next = 0;
      const spread = await runAutocannon({
        url: `${api}/reservations`,
        connections: Math.ceil(fans.length / 20),
        maxConnectionRequests: 20,
        duration: 600,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => {
              const i = next++;
              const fan = fans[i];
              return {
                ...req,
                headers: { ...req.headers, 'content-type': 'application/json', authorization: `Bearer ${fan.session}`, 'x-queue-token': fan.queueToken },
                body: JSON.stringify({ scheduleId: dates[Math.floor(i / 50)], seatNo: (i % 50) + 1 }),
              };
            },
            onResponse: (status) => void spreadStatuses.set(status, (spreadStatuses.get(status) ?? 0) + 1),
          },
        ],
      });
      results.push(
        row('holds-spread', '>= 2,000 holds/s', spread.requests.average >= 2000, spread, [
          { name: 'every distinct seat held', pass: (spreadStatuses.get(201) ?? 0) === fans.length, detail: JSON.stringify(Object.fromEntries(spreadStatuses)) },
        ]),
      );
    }

    // 3. Seat listing through the gateway.
    if (parts.has('listing')) {
      next = 0;
      const listing = await runAutocannon({
        url: `${api}/schedules/${rushDate}/seats`,
        connections: 64,
        duration: config.BENCH_DURATION_S,
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => {
              const fan = fans[next++ % fans.length];
              return { ...req, headers: { ...req.headers, authorization: `Bearer ${fan.session}`, 'x-queue-token': fan.queueToken } };
            },
          },
        ],
      });
      results.push(row('seat-listing', '>= 5,000/s, p99 <= 30 ms', listing.requests.average >= 5000 && listing.latency.p99 <= 30, listing, [{ name: 'every listing 200', pass: listing.non2xx === 0, detail: `${listing.non2xx} non-2xx` }]));
    }

    // 4. Read-model lag: from the hold's 201 to the catalog listing showing the seat HELD.
    if (parts.has('lag')) {
      const lagDate = await createBookableDate(api, { adminKey: ADMIN_API_KEY, seatCount: 50, price: 99_000 });
      await sleep(2_000);
      const lags: number[] = [];
      let missing = 0;
      for (let seatNo = 1; seatNo <= 50; seatNo++) {
        const fan = fans[seatNo];
        const held = await json('/reservations', { method: 'POST', fan, body: JSON.stringify({ scheduleId: lagDate, seatNo }) });
        if (held.status !== 201) {
          missing++;
          continue;
        }
        const t0 = performance.now();
        for (;;) {
          const seats = await json(`/schedules/${lagDate}/seats`, { fan });
          if ((seats.body.seats as { seatNo: number; status: string }[])[seatNo - 1].status === 'HELD') break;
          if (performance.now() - t0 > 5_000) {
            missing++;
            break;
          }
          await sleep(2);
        }
        lags.push(performance.now() - t0);
      }
      const lag = latencySummary(lags);
      results.push({
        scenario: 'read-model-lag',
        target: 'p99 <= 100 ms',
        targetMet: lag.p99 <= 100,
        operations: lags.length,
        durationSeconds: 0,
        throughputPerSecond: 0,
        latencyMs: lag,
        errors: missing,
        checks: [{ name: 'every hold visible in the listing', pass: missing === 0, detail: `${missing} not seen within 5 s` }],
        notes: ['lag = hold answered 201 → seat listed HELD through the gateway (polled every ~2 ms; includes one listing round trip)'],
      });
    }

    return results;
  },
};
