import { loadConfig, SERVICE_NAMES, SERVICES, withDatabase, type ServiceName } from '@ticketing/config';
import { createDatabase, type Database } from '@ticketing/db';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { benchConfig } from '../lib/bench-config';
import { cpuDelta, cpuReport } from '../lib/cpu';
import { readCpu } from '../lib/cpu-meter';
import { callApi, entryBody, leave, lineUp, roomCounts, signIn, type ApiAnswer, type Fan, type RoomCounts } from '../lib/fans';
import { createBookableDate, inBatches, paced, sleep } from '../lib/load';
import { formatMs, latencySummary, processLabel, type Check, type Scenario, type ScenarioResult } from '../lib/report';
import { stackMemory } from '../lib/stack-memory';

const rate = (perSecond: number) => z.coerce.number().min(0).default(perSecond);
const config = loadConfig(
  z.object({
    /** Measured time: one row per minute of it. */
    BENCH_SOAK_S: z.coerce.number().min(60).default(600),
    /** Before the first row: the first admissions fill the free slots at once. */
    BENCH_SOAK_WARMUP_S: z.coerce.number().min(0).default(30),
    /** Fans lined up at the start; newcomers join at the back as admitted fans leave the front. */
    BENCH_SOAK_WAITING: z.coerce.number().int().min(1).default(2_500),
    BENCH_SOAK_STATUS_RATE: rate(200),
    BENCH_SOAK_LISTING_RATE: rate(20),
    BENCH_SOAK_HOLD_RATE: rate(5),
    /** Holds paid for (a charge, then the payment); the other holds are left to expire, their fans leave. */
    BENCH_SOAK_CHECKOUT_RATE: rate(3),
    /** New fans entering the line per second (default: the hold rate, the rate at which admitted fans go). */
    BENCH_SOAK_ARRIVAL_RATE: z.coerce.number().min(0).optional(),
  }),
);
const { api } = benchConfig;
const PRICE = 5_000;
const MINUTE_MS = 60_000;
/** Requests of one kind in flight at most; a tick beyond it is skipped (counted), so an overloaded stack is not buried. */
const MAX_IN_FLIGHT = 256;
const KINDS = ['entry', 'status', 'listing', 'hold', 'charge', 'pay', 'leave'] as const;
type Kind = (typeof KINDS)[number];
/** The tables that grow with the traffic, by service database (the messaging tables of every one besides). */
const HOT_TABLES: Record<ServiceName, string[]> = {
  'queue-gateway': [],
  'concert-catalog': ['seat_statuses'],
  reservation: ['reservations'],
  wallet: ['ledger', 'idempotency_keys'],
  payment: ['payments', 'idempotency_keys'],
};

/** What one minute measured. */
class Minute {
  readonly latencies = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
  readonly errors = new Map<string, number>();
  /** Slots that ended while their fan was still shopping (the sale's activeMinutes), places that lapsed in line. */
  expired = 0;
  skipped = 0;
  error(what: string) {
    this.errors.set(what, (this.errors.get(what) ?? 0) + 1);
  }
  get operations() {
    return [...this.latencies.values()].reduce((n, l) => n + l.length, 0);
  }
}

interface TableCounts {
  /** Live and dead rows by `database.table` (PostgreSQL's statistics). */
  live: Record<string, number>;
  dead: Record<string, number>;
  /** Exact counts of each database's messaging tables, and their rows past retention + one purge round. */
  outbox: Record<string, { rows: number; unpublished: number; overdue: number }>;
  processed: Record<string, { rows: number; overdue: number }>;
}

function databases(): Record<ServiceName, Database> {
  return Object.fromEntries(SERVICE_NAMES.map((s) => [s, createDatabase({ url: withDatabase(benchConfig.POSTGRES_URL, SERVICES[s].database), poolMax: 1 })])) as Record<ServiceName, Database>;
}

async function tableCounts(dbs: Record<ServiceName, Database>): Promise<TableCounts> {
  const counts: TableCounts = { live: {}, dead: {}, outbox: {}, processed: {} };
  // A purge round deletes everything past retention; allow one interval and a minute for the round itself.
  const slackS = (benchConfig.MESSAGING_PURGE_INTERVAL_MS + MINUTE_MS) / 1000;
  await Promise.all(
    SERVICE_NAMES.map(async (service) => {
      const db = dbs[service];
      const name = SERVICES[service].database;
      const { rows } = (await db.raw('select relname, n_live_tup, n_dead_tup from pg_stat_user_tables')) as { rows: { relname: string; n_live_tup: string; n_dead_tup: string }[] };
      for (const r of rows) {
        counts.live[`${name}.${r.relname}`] = Number(r.n_live_tup);
        counts.dead[`${name}.${r.relname}`] = Number(r.n_dead_tup);
      }
      const [m] = (
        await db.raw(
          `select (select count(*) from outbox) as outbox, (select count(*) from outbox where published_at is null) as unpublished,
                  (select count(*) from outbox where published_at < now() - make_interval(secs => ?)) as outbox_overdue,
                  (select count(*) from processed_messages) as processed,
                  (select count(*) from processed_messages where processed_at < now() - make_interval(secs => ?)) as processed_overdue`,
          [benchConfig.OUTBOX_RETENTION_MS / 1000 + slackS, benchConfig.PROCESSED_MESSAGES_RETENTION_MS / 1000 + slackS],
        )
      ).rows as Record<string, string>[];
      counts.outbox[name] = { rows: Number(m.outbox), unpublished: Number(m.unpublished), overdue: Number(m.outbox_overdue) };
      counts.processed[name] = { rows: Number(m.processed), overdue: Number(m.processed_overdue) };
    }),
  );
  return counts;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const within = (last: number, first: number, share: number) => last <= first * (1 + share);

/**
 * The sale as it runs for a while: fans line up and poll their place, the waiting room admits them as
 * slots free, admitted fans browse the seats, some hold one, some of those pay (a charge, then the
 * payment); the others leave their hold to expire, and fans leave. All at steady rates, one row per
 * minute with CPU per process, and at each minute the memory of every process and the row counts of
 * every service database, to see that nothing degrades or grows without bound.
 */
export const scenario: Scenario = {
  name: 'soak',
  manual: true,
  description: `a steady mix for BENCH_SOAK_S (${config.BENCH_SOAK_S} s), one row per minute: polls, listings, holds, checkouts, arrivals and leaves; memory and table sizes each minute`,
  async run(): Promise<ScenarioResult[]> {
    const minutes = Math.max(1, Math.round(config.BENCH_SOAK_S / 60));
    const arrivals = config.BENCH_SOAK_ARRIVAL_RATE ?? config.BENCH_SOAK_HOLD_RATE;
    const payShare = config.BENCH_SOAK_HOLD_RATE > 0 ? Math.min(1, config.BENCH_SOAK_CHECKOUT_RATE / config.BENCH_SOAK_HOLD_RATE) : 0;
    const seats = Math.ceil(config.BENCH_SOAK_HOLD_RATE * (config.BENCH_SOAK_WARMUP_S + minutes * 60) * 1.2) + 100;
    const { concertId, scheduleId } = await createBookableDate(api, { adminKey: benchConfig.ADMIN_API_KEY, seatCount: seats, price: PRICE, title: 'Soak' });
    await sleep(2_000); // schedule.published reaches the reservation service

    /** Everyone the soak lined up and has not seen go (left, or paid: a payment ends the slot). */
    const present = new Set<Fan>();
    const waiting: Fan[] = [];
    const admitted: Fan[] = [];
    const toPay: { fan: Fan; reservationId: string }[] = [];
    let minute = new Minute();
    let seatNo = 0;
    let holds = 0;
    let pollNext = 0;
    let listNext = 0;
    const inFlight = new Map<Kind, number>(KINDS.map((k) => [k, 0]));
    const pending = new Set<Promise<unknown>>();

    /** One call, timed into the current minute; a status outside `expected` (or no answer) is an error. */
    async function call(kind: Kind, expected: number[], request: () => Promise<ApiAnswer>): Promise<ApiAnswer | undefined> {
      const t0 = performance.now();
      const answer = await request().catch(() => undefined);
      if (answer && expected.includes(answer.status)) minute.latencies.get(kind)!.push(performance.now() - t0);
      else minute.error(`${kind} ${answer?.status ?? 'no answer'}`);
      return answer;
    }
    /** Starts `work` unless too many of its kind are in flight; the end of the soak waits for it. */
    const start = (kind: Kind, work: () => Promise<void>) => {
      if (inFlight.get(kind)! >= MAX_IN_FLIGHT) return void minute.skipped++;
      inFlight.set(kind, inFlight.get(kind)! + 1);
      const p = work()
        .catch((error: Error) => minute.error(`${kind} ${error.message}`))
        .finally(() => {
          inFlight.set(kind, inFlight.get(kind)! - 1);
          pending.delete(p);
        });
      pending.add(p);
    };
    const gone = (fan: Fan) => void present.delete(fan);
    /** A slot that ran out while its fan shopped, or a place in line that lapsed. */
    const expire = (fan: Fan) => {
      minute.expired++;
      gone(fan);
    };
    const leaveNow = (fan: Fan) =>
      start('leave', async () => {
        const status = (await call('leave', [204, 401], () => callApi('/queue/tokens/me', { method: 'DELETE', fan })))?.status;
        if (status === 204 || status === 401) gone(fan);
      });

    /** A new fan signs in and joins the back of the line. */
    const arrive = () =>
      start('entry', async () => {
        const session = await signIn();
        const answer = await call('entry', [201], () => callApi('/queue/tokens', { method: 'POST', headers: { authorization: `Bearer ${session.session}` }, body: entryBody(concertId) }));
        if (answer?.status !== 201) return;
        const fan = { ...session, concertId, queueToken: answer.body.queueToken as string };
        present.add(fan);
        waiting.push(fan);
      });
    /** The next fan in line asks where it stands; one admitted starts shopping, one whose place lapsed is gone. */
    // A cursor that walks the line once per round: removing a fan before it steps it back, so nobody
    // is skipped. (`counter++ % length` is no round robin over a list that changes: each change of the
    // length moved the cursor by counter/length places, and some fans went unasked for minutes, long
    // enough for an admitted fan's slot to run out unused.)
    const poll = () => {
      if (waiting.length === 0) return;
      if (pollNext >= waiting.length) pollNext = 0;
      const fan = waiting[pollNext++];
      start('status', async () => {
        const place = (await call('status', [200], () => callApi('/queue/status', { fan })))?.body.status;
        if (place !== 'ACTIVE' && place !== 'EXPIRED') return;
        const at = waiting.indexOf(fan);
        if (at >= 0) {
          waiting.splice(at, 1);
          if (at < pollNext) pollNext--;
        }
        if (place === 'ACTIVE') admitted.push(fan);
        else expire(fan);
      });
    };
    /** An admitted fan looks at the seats (401: the slot ran out meanwhile). */
    const browse = () => {
      if (admitted.length === 0) return;
      if (listNext >= admitted.length) listNext = 0;
      const fan = admitted[listNext++];
      start('listing', async () => void (await call('listing', [200, 401], () => callApi(`/schedules/${scheduleId}/seats`, { fan }))));
    };
    /** The admitted fan who has shopped longest holds a seat; a share of them will pay, the others leave it to expire. */
    const hold = () => {
      const fan = admitted.shift();
      if (!fan) return void minute.skipped++;
      if (listNext > 0) listNext--;
      start('hold', async () => {
        const answer = await call('hold', [201, 401], () => callApi('/reservations', { method: 'POST', fan, body: JSON.stringify({ scheduleId, seatNo: ++seatNo }) }));
        if (answer?.status === 401) return expire(fan);
        const pays = Math.floor(++holds * payShare) > Math.floor((holds - 1) * payShare);
        if (answer?.status === 201 && pays) toPay.push({ fan, reservationId: answer.body.reservationId as string });
        else leaveNow(fan); // the hold, if any, expires (HOLD_TTL_SECONDS)
      });
    };
    /** A holding fan tops up the wallet and pays; the payment ends the slot. Latency: sent → COMPLETED (a 202 followed). */
    const checkout = () => {
      const next = toPay.shift();
      if (!next) return void minute.skipped++;
      const { fan, reservationId } = next;
      start('pay', async () => {
        const charged = await call('charge', [201], () => callApi('/wallet/charges', { method: 'POST', fan, headers: { 'idempotency-key': randomUUID() }, body: JSON.stringify({ amount: PRICE }) }));
        if (charged?.status !== 201) return leaveNow(fan);
        const t0 = performance.now();
        const paid = await callApi('/payments', { method: 'POST', fan, headers: { 'idempotency-key': randomUUID() }, body: JSON.stringify({ reservationId }) }).catch(() => undefined);
        let status = paid?.status === 201 || paid?.status === 202 ? (paid.body.status as string) : `HTTP ${paid?.status ?? 'no answer'}`;
        for (let i = 0; paid?.status === 202 && status !== 'COMPLETED' && status !== 'FAILED' && i < 600; i++) {
          await sleep(100);
          status = (await callApi(`/payments/${paid.body.paymentId as string}`, { fan }).catch(() => undefined))?.body.status as string;
        }
        if (paid?.status === 401) return expire(fan); // the slot ended before the payment
        if (status !== 'COMPLETED') {
          minute.error(`pay ${status}`);
          return leaveNow(fan);
        }
        minute.latencies.get('pay')!.push(performance.now() - t0);
        gone(fan);
      });
    };

    const redis = new Redis(benchConfig.REDIS_URL, { maxRetriesPerRequest: 1 });
    const dbs = databases();
    const rows: ScenarioResult[] = [];
    const samples: { memory: Awaited<ReturnType<typeof stackMemory>>; tables: TableCounts }[] = [];
    let stops: (() => void)[] = [];
    let finalPoll = '';
    try {
      for (const fan of await lineUp(config.BENCH_SOAK_WAITING, concertId)) {
        present.add(fan);
        waiting.push(fan);
      }
      stops = [
        paced(arrivals, arrive),
        paced(config.BENCH_SOAK_STATUS_RATE, poll),
        paced(config.BENCH_SOAK_LISTING_RATE, browse),
        paced(config.BENCH_SOAK_HOLD_RATE, hold),
        paced(config.BENCH_SOAK_CHECKOUT_RATE, checkout),
      ];
      await sleep(config.BENCH_SOAK_WARMUP_S * 1_000);
      let before = await readCpu(redis);
      minute = new Minute();
      const t0 = Date.now();
      for (let m = 1; m <= minutes; m++) {
        await sleep(t0 + m * MINUTE_MS - Date.now());
        const measured = minute;
        minute = new Minute();
        const after = await readCpu(redis);
        const cpu = cpuDelta(before, after);
        before = after;
        const sample = { memory: await stackMemory(redis), tables: await tableCounts(dbs) };
        samples.push(sample);
        rows.push(minuteRow(m, measured, cpu, sample, { waiting: waiting.length, admitted: admitted.length, toPay: toPay.length, room: await roomCounts(redis, concertId) }));
        console.log(`  soak minute ${m}/${minutes}: ${rows.at(-1)!.throughputPerSecond.toFixed(0)}/s, p99 ${rows.at(-1)!.latencyMs.p99} ms, ${rows.at(-1)!.errors} errors`);
      }
    } finally {
      for (const stop of stops) stop();
      await Promise.allSettled([...pending]);
      // The fans still in line by the soak's reckoning, each asked once more: how many the room has admitted unseen.
      const answers = new Map<string, number>();
      await inBatches([...waiting], 100, async (fan) => {
        const place = String((await callApi('/queue/status', { fan }).catch(() => undefined))?.body.status);
        answers.set(place, (answers.get(place) ?? 0) + 1);
      });
      finalPoll = `at the end, the ${waiting.length} fans the soak still had in line, each asked once more: ${JSON.stringify(Object.fromEntries(answers))}`;
      await leave([...present]).finally(async () => {
        redis.disconnect();
        await Promise.all(Object.values(dbs).map((db) => db.destroy()));
      });
    }
    const last = rows.at(-1)!;
    last.checks = soakChecks(rows, samples);
    last.notes!.push(
      finalPoll,
      `mix asked: ${config.BENCH_SOAK_STATUS_RATE} status polls/s over ${config.BENCH_SOAK_WAITING} fans lined up at the start, ${arrivals} arrivals/s, ${config.BENCH_SOAK_LISTING_RATE} seat listings/s by admitted fans, ${config.BENCH_SOAK_HOLD_RATE} holds/s, ${config.BENCH_SOAK_CHECKOUT_RATE} checkouts/s (charge + pay); the other holds are left to expire and their fans leave; the concert's sale: maxActive ${benchConfig.BENCH_MAX_ACTIVE}, activeMinutes ${benchConfig.BENCH_ACTIVE_MINUTES}, a rate that does not bind; ${config.BENCH_SOAK_WARMUP_S} s before the first row`,
      `rows by table, first → last minute (live rows from PostgreSQL's statistics, dead rows after the slash): ${tableGrowth(samples[0].tables, samples.at(-1)!.tables)}`,
      `retention as the bench reads it (set the same for the stack): outbox ${benchConfig.OUTBOX_RETENTION_MS / 1000} s, processed_messages ${benchConfig.PROCESSED_MESSAGES_RETENTION_MS / 1000} s, purged every ${benchConfig.MESSAGING_PURGE_INTERVAL_MS / 1000} s; a soak shorter than the retention sees these tables grow by the write rate`,
    );
    return rows;
  },
};

function minuteRow(
  m: number,
  measured: Minute,
  cpu: Record<string, number>,
  { memory, tables }: { memory: Awaited<ReturnType<typeof stackMemory>>; tables: TableCounts },
  pools: { waiting: number; admitted: number; toPay: number; room: RoomCounts },
): ScenarioResult {
  const all = [...measured.latencies.values()].flat();
  const errors = [...measured.errors.values()].reduce((a, b) => a + b, 0);
  const perKind = KINDS.map((k) => {
    const l = measured.latencies.get(k)!;
    const s = latencySummary(l);
    return `${k} ${l.length} (p50 ${formatMs(s.p50)}, p99 ${formatMs(s.p99)})`;
  });
  const hot = SERVICE_NAMES.map((service) => {
    const db = SERVICES[service].database;
    const o = tables.outbox[db];
    const others = HOT_TABLES[service].map((t) => `${t} ${tables.live[`${db}.${t}`] ?? '-'}/${tables.dead[`${db}.${t}`] ?? '-'}`);
    return `${db}: outbox ${o.rows} (${o.unpublished} unpublished, ${tables.dead[`${db}.outbox`]} dead), processed ${tables.processed[db].rows}${others.length ? `, ${others.join(', ')}` : ''}`;
  });
  return {
    scenario: `soak min ${m}`,
    target: m === 1 ? 'the reference minute' : 'within 10% of minute 1 (throughput, p99)',
    targetMet: true,
    operations: all.length,
    durationSeconds: 60,
    throughputPerSecond: all.length / 60,
    latencyMs: latencySummary(all),
    errors,
    checks: [],
    cpu: cpuReport(cpu, all.length),
    notes: [
      `by kind (ms): ${perKind.join('; ')}; ${measured.expired} slots or places expired, ${measured.skipped} ticks skipped (nobody to act, or ${MAX_IN_FLIGHT} in flight)${errors ? `; errors ${JSON.stringify(Object.fromEntries(measured.errors))}` : ''}`,
      `fans: ${pools.waiting} in line (not yet seen admitted), ${pools.admitted} admitted and browsing, ${pools.toPay} holding, about to pay; the room: ${pools.room.waiting} waiting, ${pools.room.active} active`,
      `memory: ${Object.entries(memory.bytes).map(([p, b]) => `${processLabel(p)} ${mib(b)}`).join(', ')} (postgres: PSS over ${memory.postgresProcesses} processes)`,
      `tables (rows/dead): ${hot.join('; ')}`,
    ],
  };
}

function tableGrowth(first: TableCounts, last: TableCounts): string {
  return Object.keys(last.live)
    .filter((t) => last.live[t] !== first.live[t] || last.dead[t] > 0)
    .map((t) => `${t} ${first.live[t] ?? 0} → ${last.live[t]}/${last.dead[t]}`)
    .join(', ');
}

/** The soak's checks, on the last row: what the issue asks of a steady mix over time. */
function soakChecks(rows: ScenarioResult[], samples: { memory: Awaited<ReturnType<typeof stackMemory>>; tables: TableCounts }[]): Check[] {
  const [first, last] = [rows[0], rows.at(-1)!];
  const [m0, m1] = [samples[0], samples.at(-1)!];
  for (const row of rows.slice(1)) row.targetMet = row.throughputPerSecond >= first.throughputPerSecond * 0.9 && within(row.latencyMs.p99, first.latencyMs.p99, 0.1);
  const grown = Object.keys(m1.memory.bytes).filter((p) => m0.memory.bytes[p] !== undefined && !within(m1.memory.bytes[p], m0.memory.bytes[p], 0.1));
  const memory = Object.keys(m1.memory.bytes).map((p) => `${processLabel(p)} ${mib(m0.memory.bytes[p] ?? NaN)} → ${mib(m1.memory.bytes[p])}`);
  const dbs = Object.keys(m1.tables.outbox);
  const overdue = dbs.filter((db) => m1.tables.outbox[db].overdue > 0 || m1.tables.processed[db].overdue > 0);
  const backlog = dbs.filter((db) => m1.tables.outbox[db].unpublished > Math.max(100, m0.tables.outbox[db].unpublished * 1.1));
  const errors = rows.reduce((n, r) => n + r.errors, 0);
  return [
    { name: 'throughput of the last minute within 10% of the first', pass: last.throughputPerSecond >= first.throughputPerSecond * 0.9, detail: `${first.throughputPerSecond.toFixed(1)}/s → ${last.throughputPerSecond.toFixed(1)}/s` },
    { name: 'p99 of the last minute within 10% of the first', pass: within(last.latencyMs.p99, first.latencyMs.p99, 0.1), detail: `${first.latencyMs.p99} ms → ${last.latencyMs.p99} ms` },
    { name: 'memory of every process of the stack within 10% from the first minute to the last', pass: grown.length === 0, detail: `${memory.join(', ')}${grown.length ? `; grew: ${grown.map(processLabel).join(', ')}` : ''}` },
    {
      name: 'outbox and processed_messages bounded: nothing past retention + one purge round, no growing outbox backlog',
      pass: overdue.length === 0 && backlog.length === 0,
      detail: dbs.map((db) => `${db} outbox ${m0.tables.outbox[db].rows} → ${m1.tables.outbox[db].rows} (${m1.tables.outbox[db].unpublished} unpublished, ${m1.tables.outbox[db].overdue} overdue), processed ${m0.tables.processed[db].rows} → ${m1.tables.processed[db].rows} (${m1.tables.processed[db].overdue} overdue)`).join('; '),
    },
    { name: 'no errors (5xx, unexpected answers, no answer)', pass: errors === 0, detail: `${errors} over ${rows.length} minutes` },
  ];
}
