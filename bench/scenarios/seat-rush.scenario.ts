import { loadConfig } from '@ticketing/config';
import { z } from 'zod';
import { benchConfig } from '../lib/bench-config';
import { callApi, fanHeaders, inWaves, type Fan } from '../lib/fans';
import { createMeasurement, createSaleConcert, sleep, type Measurement } from '../lib/load';
import { latencySummary, type CeilingName, type Check, type Scenario, type ScenarioResult } from '../lib/report';

const config = loadConfig(
  z.object({
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
const { api } = benchConfig;
const SEATS = 50;

type Ctx = { fan?: Fan };

/** A POST /reservations per fan, exactly one each: `seatOf(i)` says which date and seat fan i of the wave asks for. */
async function holdOncePerFan(load: Measurement, fans: Fan[], seatOf: (i: number) => { scheduleId: string; seatNo: number }, onAnswer: (status: number, fan: Fan) => void, perConnection: number) {
  let next = 0;
  await load.run({
    url: `${api}/reservations`,
    // Exactly one request per fan: `amount` under-counts with per-request setup in autocannon 8,
    // so each of N/k connections makes exactly k.
    connections: Math.ceil(fans.length / perConnection),
    maxConnectionRequests: perConnection,
    duration: 600, // an upper bound only: autocannon's default 10 s would cut a slow wave short
    requests: [
      {
        method: 'POST',
        setupRequest: (req, context) => {
          const i = next++;
          const fan = fans[i % fans.length];
          (context as Ctx).fan = fan;
          return { ...req, headers: { ...req.headers, 'content-type': 'application/json', ...fanHeaders(fan) }, body: JSON.stringify(seatOf(i)) };
        },
        onResponse: (status, _body, context) => onAnswer(status, (context as Ctx).fan!),
      },
    ],
  });
}

function countInto(statuses: Map<number, number>, status: number) {
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
}

/** Holds are conditional UPDATEs of a seat row: compared with pgbench's; listings are HTTP reads: with express. */
function row(name: string, target: string, targetMet: boolean, load: Measurement, checks: Check[], notes: string[], ceiling: CeilingName = 'pgbench-update'): ScenarioResult {
  return { scenario: name, target, targetMet, ...load.summary(), errors: load.totals.errors + load.totals.fiveXx, checks, notes, ceiling };
}

/** Every fan tries one seat of the same 50-seat date, in waves of admitted fans; only 50 may win. */
async function rush(concertId: string, scheduleId: string): Promise<ScenarioResult> {
  const load = createMeasurement();
  const statuses = new Map<number, number>();
  let winners = 0;
  let tried = 0;
  try {
    const waves = await inWaves(concertId, config.BENCH_RUSH_USERS, async (fans) => {
      const won: Fan[] = [];
      const offset = tried;
      tried += fans.length;
      await holdOncePerFan(
        load,
        fans,
        (i) => ({ scheduleId, seatNo: ((offset + i) % SEATS) + 1 }),
        (status, fan) => {
          countInto(statuses, status);
          if (status === 201) won.push(fan);
        },
        10,
      );
      winners += won.length;
      return won; // the winners keep their slots (to pay, in a real sale); the others leave and free theirs
    });
    const refused = statuses.get(409) ?? 0;
    return row(
      'seat-rush',
      `${config.BENCH_RUSH_USERS} fans, 50 seats: exactly 50 holds, p99 <= 300 ms, 0 5xx`,
      winners === SEATS && load.summary().latencyMs.p99 <= 300 && load.totals.fiveXx === 0,
      load,
      [
        { name: 'exactly 50 holds', pass: winners === SEATS, detail: `${winners} × 201` },
        { name: 'everyone else refused with 409', pass: refused === config.BENCH_RUSH_USERS - SEATS, detail: `${refused} × 409; all statuses ${JSON.stringify(Object.fromEntries(statuses))}` },
        { name: 'no 5xx', pass: load.totals.fiveXx === 0, detail: `${load.totals.fiveXx} × 5xx` },
      ],
      [
        `ran in ${waves} waves of at most ${benchConfig.waveFans} admitted fans (the concert's sale: maxActive ${benchConfig.BENCH_MAX_ACTIVE}): the first wave fights for all 50 seats (${Math.round(benchConfig.waveFans / SEATS)} fans a seat), ` +
          'later waves meet seats already held; the winners keep their slots, the others leave; time and percentiles over the waves only, not the admissions between them',
      ],
    );
  } finally {
    load.close();
  }
}

/** Each fan holds a distinct seat (dates of 50 seats of the concert, enough for all), in waves. */
async function spread(concertId: string, dates: string[]): Promise<ScenarioResult> {
  const load = createMeasurement();
  const statuses = new Map<number, number>();
  let tried = 0;
  try {
    const waves = await inWaves(concertId, config.BENCH_RUSH_USERS, async (fans) => {
      const offset = tried;
      tried += fans.length;
      await holdOncePerFan(load, fans, (i) => ({ scheduleId: dates[Math.floor((offset + i) / SEATS)], seatNo: ((offset + i) % SEATS) + 1 }), (status) => countInto(statuses, status), 20);
    });
    return row('holds-spread', '>= 2,000 holds/s', load.summary().throughputPerSecond >= 2_000, load, [
      { name: 'every distinct seat held', pass: (statuses.get(201) ?? 0) === config.BENCH_RUSH_USERS, detail: JSON.stringify(Object.fromEntries(statuses)) },
    ], [`${waves} waves of at most ${benchConfig.waveFans} admitted fans; time over the waves only`]);
  } finally {
    load.close();
  }
}

/** Seat listing through the gateway, cycling over one wave of admitted fans. */
async function listing(fans: Fan[], scheduleId: string): Promise<ScenarioResult> {
  const load = createMeasurement();
  let next = 0;
  try {
    await load.run({
      url: `${api}/schedules/${scheduleId}/seats`,
      connections: benchConfig.BENCH_CONNECTIONS,
      duration: config.BENCH_DURATION_S,
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...fanHeaders(fans[next++ % fans.length]) } }) }],
    });
    const { throughputPerSecond, latencyMs } = load.summary();
    return row(
      'seat-listing',
      '>= 5,000/s, p99 <= 30 ms',
      throughputPerSecond >= 5_000 && latencyMs.p99 <= 30,
      load,
      [{ name: 'every listing 200', pass: load.totals.non2xx === 0, detail: `${load.totals.non2xx} non-2xx` }],
      [`${benchConfig.BENCH_CONNECTIONS} connections cycling over ${fans.length} admitted fans`],
      'express-hello',
    );
  } finally {
    load.close();
  }
}

/** Read-model lag: from a hold's 201 to the catalog's listing showing the seat HELD, 50 holds one at a time. */
async function lag(fans: Fan[], lagDate: string): Promise<ScenarioResult> {
  const lags: number[] = [];
  let missing = 0;
  for (let seatNo = 1; seatNo <= SEATS; seatNo++) {
    const fan = fans[(seatNo - 1) % fans.length];
    const held = await callApi('/reservations', { method: 'POST', fan, body: JSON.stringify({ scheduleId: lagDate, seatNo }) });
    if (held.status !== 201) {
      missing++;
      continue;
    }
    const t0 = performance.now();
    for (;;) {
      const seats = await callApi(`/schedules/${lagDate}/seats`, { fan });
      if ((seats.body.seats as { seatNo: number; status: string }[])[seatNo - 1].status === 'HELD') break;
      if (performance.now() - t0 > 5_000) {
        missing++;
        break;
      }
      await sleep(2);
    }
    lags.push(performance.now() - t0);
  }
  const latency = latencySummary(lags);
  return {
    scenario: 'read-model-lag',
    target: 'p99 <= 100 ms',
    targetMet: latency.p99 <= 100,
    operations: lags.length,
    durationSeconds: 0,
    throughputPerSecond: 0,
    latencyMs: latency,
    errors: missing,
    checks: [{ name: 'every hold visible in the listing', pass: missing === 0, detail: `${missing} not seen within 5 s` }],
    notes: ['lag = hold answered 201 → seat listed HELD through the gateway (polled every ~2 ms; includes one listing round trip)'],
  };
}

/**
 * The sale itself, through the gateway of the running stack: admitted fans rush one 50-seat date,
 * then hold seats spread over many dates, list seats, and the catalog's seat listing is timed to
 * show each hold (read-model lag). One concert has every date; fans line up in its room and are
 * admitted in waves below its sale's maxActive (BENCH_MAX_ACTIVE), and leave after.
 */
export const scenario: Scenario = {
  name: 'seat-rush',
  description: 'admitted fans (in waves) rush one 50-seat date; holds over many dates; seat listing; read-model lag',
  async run() {
    const parts = new Set(config.BENCH_SEAT_RUSH_PARTS);
    const results: ScenarioResult[] = [];
    // Admitted fans hold seats of their concert only (WRONG_SALE otherwise): the rush date, the lag date and the spread's dates are one concert's.
    const spreadDates = parts.has('spread') ? Math.ceil(config.BENCH_RUSH_USERS / SEATS) : 0;
    const { concertId, scheduleIds } = await createSaleConcert(api, { adminKey: benchConfig.ADMIN_API_KEY, dates: 2 + spreadDates, seatCount: SEATS, price: 99_000, title: 'Seat rush' });
    const [rushDate, lagDate, ...dates] = scheduleIds;
    await sleep(2_000); // schedule.published reaches the reservation service
    if (parts.has('rush')) results.push(await rush(concertId, rushDate));
    if (parts.has('spread')) results.push(await spread(concertId, dates));
    if (parts.has('listing') || parts.has('lag')) {
      await inWaves(concertId, Math.min(benchConfig.waveFans, config.BENCH_RUSH_USERS), async (fans) => {
        if (parts.has('listing')) results.push(await listing(fans, rushDate));
        if (parts.has('lag')) results.push(await lag(fans, lagDate));
      });
    }
    return results;
  },
};
