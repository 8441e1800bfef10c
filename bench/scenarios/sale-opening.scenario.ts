import { loadConfig } from '@ticketing/config';
import Redis from 'ioredis';
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { z } from 'zod';
import { userMember } from '../../apps/queue-gateway/src/waiting-room/waiting-room.scripts';
import { benchConfig } from '../lib/bench-config';
import { cpuReport } from '../lib/cpu';
import { createCpuMeter, LOAD_GENERATOR } from '../lib/cpu-meter';
import { entryBody, fanHeaders, leave, roomKeys, signIn, type Fan } from '../lib/fans';
import { createMeasurement, createSaleConcert, paced, sleep } from '../lib/load';
import { auditDraw, etaErrors, fairnessBound, parseDrawnValue, percentile, spearman, type DrawnEntry } from '../lib/opening-stats';
import { failedResult, latencySummary, type Check, type Scenario, type ScenarioResult } from '../lib/report';
import { openStream, StreamRefused, type EventStream } from '../lib/streams';

const share = z.coerce.number().min(0).max(1);
const config = loadConfig(
  z.object({
    /** Fans in the pre-queue (lined up between queueOpensAt and saleOpensAt). */
    BENCH_OPENING_PRE_FANS: z.coerce.number().int().min(1).max(60_000).default(10_000),
    /** Fans arriving after the opening, at BENCH_OPENING_ARRIVAL_RATE a second. */
    BENCH_OPENING_LATE_FANS: z.coerce.number().int().min(0).max(60_000).default(10_000),
    BENCH_OPENING_ARRIVAL_RATE: z.coerce.number().min(1).default(2_000),
    /** The sale's admitPerMinute: what the admitted-per-minute figure is held against. */
    BENCH_OPENING_ADMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(1_200),
    /** From the sale's configuration to its opening: the pre-queue fans line up in this time. */
    BENCH_OPENING_LEAD_S: z.coerce.number().min(5).default(60),
    /** Measured from the opening on. */
    BENCH_OPENING_DURATION_S: z.coerce.number().min(5).default(90),
    /** Share of the fans holding an event stream; the others poll at pollAfterMs. */
    BENCH_OPENING_STREAM_SHARE: share.default(0.25),
    /** An admitted fan's pause before buying (charge, hold, pay). */
    BENCH_OPENING_THINK_MS: z.coerce.number().int().min(0).default(2_000),
    /** Fans' HTTP requests in flight at most (a request due beyond it waits: counted as sent late). */
    BENCH_OPENING_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(256),
    /** Accounts of the log-in burst (each signs up, then logs in once during the burst). */
    BENCH_OPENING_LOGINS: z.coerce.number().int().min(1).default(100),
  }),
);
const { api } = benchConfig;
const PRICE = 1_000;
const KINDS = ['entry', 'status', 'stream', 'charge', 'hold', 'pay', 'payment', 'leave'] as const;
type Kind = (typeof KINDS)[number];

interface OpeningFan extends Fan {
  index: number;
  early: boolean;
  streaming: boolean;
  /** The ticket the queue token names (a pre-ticket for a pre-queue fan). */
  ticket?: number;
  entryStatus?: string;
  opensAt?: string | null;
  /** The first WAITING place seen after the opening, with its ETA: the prediction the ETA error is over. */
  firstPlace?: { at: number; etaSeconds: number; position: number };
  admittedAt?: number;
  /** Seen ACTIVE, EXPIRED or stopped: no more polls. */
  settled: boolean;
  stream?: EventStream;
}

/** Each fan's own address, as the proxy in front of a gateway passes it: 10.b.x.y, b random per run. */
function addressOf(index: number, base: number): string {
  return `10.${(base + (index >> 16)) & 255}.${(index >> 8) & 255}.${index & 255}`;
}

const openFileLimit = () => Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]);

/** What the fans saw, by kind of request and by answer. */
function createTally() {
  const answers = new Map<Kind, Map<string, number>>(KINDS.map((k) => [k, new Map()]));
  const latencies = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
  /** Every entry's time, the pre-queue's before the opening included. */
  const entryMs: number[] = [];
  let measuring = false;
  let tooMany = 0;
  return {
    count(kind: Kind, answer: string, ms?: number) {
      const m = answers.get(kind)!;
      m.set(answer, (m.get(answer) ?? 0) + 1);
      if (answer === '429') tooMany++;
      if (kind === 'entry' && ms !== undefined) entryMs.push(ms);
      if (measuring && ms !== undefined) latencies.get(kind)!.push(ms);
    },
    set measuring(on: boolean) {
      measuring = on;
    },
    get tooMany() {
      return tooMany;
    },
    answers,
    latencies,
    entryMs,
    /** Answers that are no answer at all (network errors, timeouts) or a 5xx. */
    failures: () => [...answers.values()].flatMap((m) => [...m.entries()]).filter(([a]) => a === 'no answer' || a.startsWith('5')).reduce((n, [, c]) => n + c, 0),
    describe: () => KINDS.map((k) => `${k} ${JSON.stringify(Object.fromEntries(answers.get(k)!))}`).join('; '),
  };
}

/** A bound on the fans' requests in flight: one over it waits for a free place (handed over, never overshot). */
function createLimiter(max: number) {
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  let lateMs: number[] = [];
  return {
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (inFlight >= max) {
        const t0 = Date.now();
        await new Promise<void>((resolve) => waiting.push(resolve));
        lateMs.push(Date.now() - t0);
      } else inFlight++;
      try {
        return await work();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else inFlight--;
      }
    },
    /** How long requests waited for a place since the last call (and forgets them). */
    takeLateMs() {
      const taken = lateMs;
      lateMs = [];
      return taken;
    },
  };
}

interface RoomSample {
  at: number;
  waiting: number;
  active: number;
  admittedTotal: number;
  draw: { drawnAt: string; seed: string; drawn: number; firstTicket: number | null; lapsed: number } | null;
}

/**
 * Issue 10's opening of a sale, through the gateway of the running stack: BENCH_OPENING_PRE_FANS fans
 * line up in the pre-queue before the sale opens, BENCH_OPENING_LATE_FANS more arrive after the
 * opening at BENCH_OPENING_ARRIVAL_RATE a second; every fan polls at the pollAfterMs it is told or
 * holds an event stream (BENCH_OPENING_STREAM_SHARE), an admitted fan buys (charge, hold, pay) after a
 * think time. Each fan comes from its own address (X-Forwarded-For, as behind a load balancer). Then a
 * burst of log-ins, to read the log-ins per second per core of the gateway.
 */
export const scenario: Scenario = {
  name: 'sale-opening',
  description: 'a pre-queue drawn at the opening, arrivals after it, admission at the sale\'s rate, fans buying; fairness, ETA error, 429s; log-ins per core',
  async run(): Promise<ScenarioResult[]> {
    const rows = await opening();
    rows.push(await loginBurst().catch((error: unknown) => failedResult('sale-opening login', error)));
    return rows;
  },
};

async function opening(): Promise<ScenarioResult[]> {
  const preCount = config.BENCH_OPENING_PRE_FANS;
  const lateCount = config.BENCH_OPENING_LATE_FANS;
  const total = preCount + lateCount;
  const streamCount = Math.round(total * config.BENCH_OPENING_STREAM_SHARE);
  const files = openFileLimit();
  if (streamCount + config.BENCH_OPENING_MAX_IN_FLIGHT + 500 > files) {
    throw new Error(`${streamCount} event streams and ${config.BENCH_OPENING_MAX_IN_FLIGHT} requests in flight need more than this process's ${files} open files: lower BENCH_OPENING_STREAM_SHARE`);
  }
  const durationMs = config.BENCH_OPENING_DURATION_S * 1_000;
  const expectedAdmitted = Math.min(total, Math.ceil((config.BENCH_OPENING_ADMIT_PER_MINUTE * config.BENCH_OPENING_DURATION_S) / 60));
  const seats = Math.min(total, Math.ceil(expectedAdmitted * 1.5) + 100);
  const saleOpensAtMs = Date.now() + config.BENCH_OPENING_LEAD_S * 1_000;
  const { concertId, scheduleIds, sale } = await createSaleConcert(api, {
    adminKey: benchConfig.ADMIN_API_KEY,
    seatCount: seats,
    price: PRICE,
    title: 'Sale opening',
    sale: { queueOpensAt: new Date(Date.now() - 60_000).toISOString(), saleOpensAt: new Date(saleOpensAtMs).toISOString(), admitPerMinute: config.BENCH_OPENING_ADMIT_PER_MINUTE },
  });
  const [scheduleId] = scheduleIds;
  const base = randomInt(256);
  const streamEvery = config.BENCH_OPENING_STREAM_SHARE > 0 ? 1 / config.BENCH_OPENING_STREAM_SHARE : Infinity;
  const fans: OpeningFan[] = [];
  for (let i = 0; i < total; i++) {
    const session = await signIn();
    // Streams spread evenly over both groups (every streamEvery-th fan).
    const streaming = Math.floor((i + 1) / streamEvery) > Math.floor(i / streamEvery);
    fans.push({ ...session, concertId, queueToken: '', address: addressOf(i, base), index: i, early: i < preCount, streaming, settled: false });
  }
  const pre = fans.slice(0, preCount);
  const late = fans.slice(preCount);

  const tally = createTally();
  const limiter = createLimiter(config.BENCH_OPENING_MAX_IN_FLIGHT);
  let stopping = false;
  let opened = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, work: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopping) work();
    }, ms);
    timers.add(timer);
  };
  const buys = new Set<Promise<void>>();
  const purchases = { started: 0, completed: 0, failed: new Map<string, number>(), latencies: [] as number[], slotKeptAfterPayment: 0, slotFreedByPayment: 0 };
  const fail = (why: string): void => void purchases.failed.set(why, (purchases.failed.get(why) ?? 0) + 1);
  const streamStats = { opened: 0, refused: 0, closedByGateway: 0 };
  let seatNo = 0;
  let lastLateEntryAt = 0;

  /** One request of a fan, timed and tallied; `undefined` when there was no answer. */
  async function send(kind: Kind, fan: OpeningFan, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; asUser?: boolean } = {}) {
    return limiter.run(async () => {
      const t0 = performance.now();
      try {
        const headers: Record<string, string> = { ...(init.asUser ? { authorization: `Bearer ${fan.session}`, 'x-forwarded-for': fan.address! } : fanHeaders(fan)), ...init.headers };
        if (init.body !== undefined) headers['content-type'] = 'application/json';
        const res = await fetch(`${api}${path}`, {
          method: init.method ?? 'GET',
          headers,
          body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
          signal: AbortSignal.timeout(20_000),
        });
        const text = await res.text();
        tally.count(kind, String(res.status), performance.now() - t0);
        return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown>, retryAfterMs: Number(res.headers.get('retry-after') ?? 1) * 1_000 };
      } catch {
        tally.count(kind, 'no answer');
        return undefined;
      }
    });
  }

  /** What a status body (a poll's, an entry's or a stream event's) tells about the fan. */
  function observe(fan: OpeningFan, body: Record<string, unknown>, at: number) {
    if (body.status === 'WAITING' && opened && !fan.firstPlace && typeof body.etaSeconds === 'number') {
      fan.firstPlace = { at, etaSeconds: body.etaSeconds, position: body.position as number };
    }
    if (body.status === 'ACTIVE' && fan.admittedAt === undefined) {
      fan.admittedAt = at;
      fan.settled = true;
      fan.stream?.request.destroy();
      later(config.BENCH_OPENING_THINK_MS, () => track(buy(fan)));
    }
    if (body.status === 'EXPIRED') {
      fan.settled = true;
      fan.stream?.request.destroy();
    }
  }

  const track = (work: Promise<void>) => {
    buys.add(work);
    void work.finally(() => buys.delete(work));
  };

  async function poll(fan: OpeningFan) {
    if (fan.settled) return;
    const answer = await send('status', fan, '/queue/status');
    if (!answer) return later(1_000, () => void poll(fan));
    if (answer.status === 429) return later(answer.retryAfterMs, () => void poll(fan));
    if (answer.status !== 200) return later(1_000, () => void poll(fan));
    observe(fan, answer.body, Date.now());
    if (!fan.settled) later(answer.body.pollAfterMs as number, () => void poll(fan));
  }

  async function listen(fan: OpeningFan) {
    try {
      fan.stream = await openStream(fan, {
        headers: { 'x-forwarded-for': fan.address! },
        onEvent: (stream) => observe(fan, stream.body!, Date.now()),
        onClose: () => {
          if (fan.settled || stopping) return;
          streamStats.closedByGateway++;
          fan.stream = undefined;
          later(1_000, () => void listen(fan));
        },
      });
      streamStats.opened++;
      tally.count('stream', '200');
    } catch (error) {
      tally.count('stream', error instanceof StreamRefused ? String(error.status) : 'no answer');
      streamStats.refused++;
      // A refused stream: the fan polls instead (after Retry-After, when it was told to slow down).
      later(1_000, () => void poll(fan));
    }
  }

  /** The fan lines up, then polls at the pace it is told or holds its stream. */
  async function enter(fan: OpeningFan) {
    for (let attempt = 0; attempt < 5 && !stopping; attempt++) {
      const answer = await send('entry', fan, '/queue/tokens', { method: 'POST', body: entryBody(concertId), asUser: true });
      if (answer?.status === 201) {
        fan.queueToken = answer.body.queueToken as string;
        fan.ticket = JSON.parse(Buffer.from(fan.queueToken.split('.')[1], 'base64url').toString()).tkt as number;
        fan.entryStatus = answer.body.status as string;
        fan.opensAt = answer.body.opensAt as string | null;
        if (!fan.early) lastLateEntryAt = Math.max(lastLateEntryAt, Date.now());
        observe(fan, answer.body, Date.now());
        if (fan.settled) return;
        if (fan.streaming) return void listen(fan);
        return later(answer.body.pollAfterMs as number, () => void poll(fan));
      }
      await sleep(answer?.status === 429 ? answer.retryAfterMs : 500);
    }
  }

  /** After the think time: money, a seat, the payment; then whether the payment ended the slot. */
  async function buy(fan: OpeningFan) {
    purchases.started++;
    const t0 = performance.now();
    const charged = await send('charge', fan, '/wallet/charges', { method: 'POST', headers: { 'idempotency-key': randomUUID() }, body: { amount: PRICE } });
    if (charged?.status !== 201) return fail(`charge ${charged?.status ?? 'no answer'}`);
    const held = await send('hold', fan, '/reservations', { method: 'POST', body: { scheduleId, seatNo: ++seatNo } });
    if (held?.status !== 201) return fail(`hold ${held?.status ?? 'no answer'} ${String(held?.body.code ?? '')}`.trim());
    const key = randomUUID();
    let paid = await send('pay', fan, '/payments', { method: 'POST', headers: { 'idempotency-key': key }, body: { reservationId: held.body.reservationId } });
    // Retried with the same key as told: a hold that has not reached the payment service yet, or a slow-down.
    for (let i = 0; i < 10 && paid && (paid.status === 429 || (paid.status === 503 && paid.body.code === 'HOLD_NOT_YET_KNOWN')); i++) {
      await sleep(paid.retryAfterMs);
      paid = await send('pay', fan, '/payments', { method: 'POST', headers: { 'idempotency-key': key }, body: { reservationId: held.body.reservationId } });
    }
    let status = paid?.status === 201 || paid?.status === 202 ? (paid.body.status as string) : `pay ${paid?.status ?? 'no answer'}`;
    for (let i = 0; paid?.status === 202 && status !== 'COMPLETED' && status !== 'FAILED' && i < 300; i++) {
      await sleep(200);
      status = ((await send('payment', fan, `/payments/${paid.body.paymentId as string}`))?.body.status as string) ?? status;
    }
    if (status !== 'COMPLETED') return fail(status);
    purchases.completed++;
    purchases.latencies.push(performance.now() - t0);
    // payment.completed ends the buyer's slot; a slot still there a moment later is counted and given up.
    await sleep(1_500);
    const after = await send('status', fan, '/queue/status');
    if (after?.body.status === 'ACTIVE') {
      purchases.slotKeptAfterPayment++;
      await send('leave', fan, '/queue/tokens/me', { method: 'DELETE' });
    } else purchases.slotFreedByPayment++;
  }

  // The room as the gateway reports it, sampled from before the opening to the end.
  const samples: RoomSample[] = [];
  const sampler = setInterval(() => {
    void fetch(`${api}/admin/waiting-rooms/${concertId}`, { headers: { 'x-admin-key': benchConfig.ADMIN_API_KEY }, signal: AbortSignal.timeout(5_000) })
      .then(async (res) => (res.ok ? ((await res.json()) as Omit<RoomSample, 'at'>) : undefined))
      .then((room) => room && samples.push({ at: Date.now(), waiting: room.waiting, active: room.active, admittedTotal: room.admittedTotal, draw: room.draw }))
      .catch(() => undefined);
  }, 250);

  const meter = createCpuMeter();
  const loop = monitorEventLoopDelay({ resolution: 20 });
  const redis = new Redis(benchConfig.REDIS_URL, { maxRetriesPerRequest: 1 });
  let stopArrivals = () => undefined as void;
  const preEnteredAt = Date.now();
  try {
    // The pre-queue: everyone lines up before the opening, in the order of these calls.
    await Promise.all(pre.map((fan) => enter(fan)));
    const preEntrySeconds = (Date.now() - preEnteredAt) / 1000;
    if (Date.now() >= saleOpensAtMs) console.log(`  sale-opening: the pre-queue took ${preEntrySeconds.toFixed(1)} s, past the opening (raise BENCH_OPENING_LEAD_S)`);
    await sleep(saleOpensAtMs - Date.now());

    // The opening: measured from here for BENCH_OPENING_DURATION_S.
    opened = true;
    tally.measuring = true;
    limiter.takeLateMs();
    loop.enable();
    let lateEntered = 0;
    const arrivalsDone = new Promise<void>((resolve) => {
      if (late.length === 0) return resolve();
      stopArrivals = paced(config.BENCH_OPENING_ARRIVAL_RATE, () => {
        const fan = late[lateEntered++];
        if (fan) void enter(fan);
        if (lateEntered >= late.length) {
          stopArrivals();
          resolve();
        }
      });
    });
    const arrivalsStartedAt = Date.now();
    let arrivalSeconds = NaN;
    void arrivalsDone.then(() => (arrivalSeconds = (Date.now() - arrivalsStartedAt) / 1000));
    const lastInLine = () => (lastLateEntryAt > 0 ? (lastLateEntryAt - arrivalsStartedAt) / 1000 : NaN);
    await meter.measure(() => sleep(saleOpensAtMs + durationMs - Date.now()));
    loop.disable();
    tally.measuring = false;
    const sentLateMs = limiter.takeLateMs();

    // The end: no more polls or streams; purchases under way finish.
    stopping = true;
    stopArrivals();
    clearInterval(sampler);
    for (const timer of timers) clearTimeout(timer);
    for (const fan of fans) fan.stream?.request.destroy();
    await Promise.race([Promise.allSettled([...buys]), sleep(60_000)]);

    return await summarize({ preEntrySeconds, arrivalSeconds, lateInLineSeconds: lastInLine(), sentLateMs });
  } finally {
    stopping = true;
    stopArrivals();
    clearInterval(sampler);
    for (const timer of timers) clearTimeout(timer);
    for (const fan of fans) fan.stream?.request.destroy();
    await leave(fans.filter((f) => f.queueToken)).catch((error: Error) => console.error(`  sale-opening: leaving: ${error.message}`));
    meter.close();
    redis.disconnect();
  }

  async function summarize({ preEntrySeconds, arrivalSeconds, lateInLineSeconds, sentLateMs }: { preEntrySeconds: number; arrivalSeconds: number; lateInLineSeconds: number; sentLateMs: number[] }): Promise<ScenarioResult[]> {
    const windowSeconds = durationMs / 1000;
    // The draw, from the room's record (admin view) and its drawn hash (each pre-queue fan's pre-ticket and ticket).
    const draw = [...samples].reverse().find((s) => s.draw)?.draw ?? null;
    const keys = roomKeys(concertId);
    const drawnCount = await redis.hlen(keys.drawn);
    const entries: (DrawnEntry & { fan: OpeningFan })[] = [];
    for (let i = 0; i < pre.length; i += 1_000) {
      const chunk = pre.slice(i, i + 1_000);
      const members = chunk.map((f) => userMember(f.userId));
      const values = await redis.hmget(keys.drawn, ...members);
      values.forEach((v, j) => v && entries.push({ member: members[j], ...parseDrawnValue(v), fan: chunk[j] }));
    }
    const rho = spearman(entries.map((e) => e.preTicket), entries.map((e) => e.ticket));
    const audit = draw?.firstTicket ? auditDraw(entries, draw.seed, draw.firstTicket) : { mismatched: entries.length };
    const lastDrawn = draw?.firstTicket ? draw.firstTicket + draw.drawn - 1 : Infinity;
    const lateEntered = late.filter((f) => f.ticket !== undefined);
    const lateAhead = lateEntered.filter((f) => f.ticket! <= lastDrawn).length;
    const preQueued = pre.filter((f) => f.entryStatus === 'PRE_QUEUE' && f.opensAt && Date.parse(f.opensAt) === Date.parse(sale.saleOpensAt)).length;

    // Admission as the room counted it, over the part of the window with fans still waiting.
    const inWindow = samples.filter((s) => s.at >= saleOpensAtMs && s.at <= saleOpensAtMs + durationMs);
    const before = [...samples].reverse().find((s) => s.at < saleOpensAtMs);
    const startCount = before?.admittedTotal ?? 0;
    const firstAdmitted = inWindow.find((s) => s.admittedTotal > startCount);
    const lastWaiting = [...inWindow].reverse().find((s) => s.waiting > 0);
    const rateEnd = lastWaiting ?? inWindow.at(-1);
    const admittedPerMinute = firstAdmitted && rateEnd && rateEnd.at > firstAdmitted.at ? ((rateEnd.admittedTotal - firstAdmitted.admittedTotal) / (rateEnd.at - firstAdmitted.at)) * 60_000 : NaN;
    const rateRatio = admittedPerMinute / sale.admitPerMinute;
    const maxActiveSeen = Math.max(0, ...samples.map((s) => s.active));
    const admitted = fans.filter((f) => f.admittedAt !== undefined);
    const firstSeenByFan = admitted.length ? Math.min(...admitted.map((f) => f.admittedAt!)) - saleOpensAtMs : NaN;
    const firstByRoom = firstAdmitted ? firstAdmitted.at - saleOpensAtMs : NaN;

    // ETA: the first place a fan saw after the opening against when it was really admitted.
    const etaSample = (group: OpeningFan[]) => etaErrors(group.filter((f) => f.firstPlace && f.admittedAt !== undefined).map((f) => ({ predictedSeconds: f.firstPlace!.etaSeconds, actualSeconds: (f.admittedAt! - f.firstPlace!.at) / 1000 })));
    const errorsAll = etaSample(fans);
    const errorsStreaming = etaSample(fans.filter((f) => f.streaming));
    const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(0)}%` : 'n/a');
    const etaLine = (e: number[]) => `p50 ${pct(percentile(e, 50))}, p90 ${pct(percentile(e, 90))} over ${e.length} fans`;

    const measuredKinds = [...tally.latencies.values()].flat();
    const operations = measuredKinds.length;
    const cpu = cpuReport(meter.used, operations);
    const clientCores = (meter.used?.[LOAD_GENERATOR] ?? NaN) / windowSeconds;
    const loopP99 = loop.percentile(99) / 1e6;
    // Node runs the fans on one thread: near a whole core, the client is what limits. A late event loop
    // with CPU to spare means the machine's cores were taken (the stack on the same box), not the client's own work.
    const clientVerdict =
      clientCores >= 0.8
        ? 'THE CLIENT WAS THE BOTTLENECK (its one thread was busy: polls and streams were handled late, the stack was not pushed as hard as the fans would)'
        : loopP99 >= 200
          ? `the client's own work was not the limit, but its event loop ran late: the machine's ${os.cpus().length} cores were busy with the stack`
          : 'the client kept up';
    const bound = fairnessBound(entries.length);
    const polls = latencySummary(tally.latencies.get('status')!);

    const checks: Check[] = [
      { name: 'every pre-queue fan entered before the opening and was told PRE_QUEUE with the opening time', pass: preQueued === pre.length, detail: `${preQueued}/${pre.length} in ${preEntrySeconds.toFixed(1)} s (BENCH_OPENING_LEAD_S ${config.BENCH_OPENING_LEAD_S})` },
      {
        name: 'the draw took every pre-queue fan (none lapsed) and recorded it',
        pass: !!draw && draw.drawn === pre.length && drawnCount === pre.length && entries.length === pre.length && draw.lapsed === 0,
        detail: draw ? `${draw.drawn} drawn, ${draw.lapsed} lapsed, drawn hash ${drawnCount}, ${entries.length} of our ${pre.length} fans in it` : 'no draw recorded',
      },
      { name: 'the draw recomputed from its seed: tickets in ascending sha1(seed || member) order', pass: !!draw && entries.length > 0 && audit.mismatched === 0, detail: `${audit.mismatched} of ${entries.length} out of order` },
      { name: `pre-queue place unrelated to arrival: |Spearman rho| < ${bound.toFixed(3)}`, pass: Math.abs(rho) < bound, detail: `rho ${rho.toFixed(4)} over ${entries.length} fans (the bound: 4/sqrt(n-1), at least 0.1)` },
      { name: 'arrivals after the opening queue behind the drawn fans', pass: lateAhead === 0 && lateEntered.length === late.length, detail: `${lateEntered.length}/${late.length} entered, ${lateAhead} with a ticket at or before the last drawn (${lastDrawn})` },
      { name: "never more fans admitted at once than the sale's maxActive", pass: maxActiveSeen <= sale.maxActive && samples.length > 0, detail: `at most ${maxActiveSeen} active in ${samples.length} samples (maxActive ${sale.maxActive})` },
      { name: 'well-behaved fans got no 429', pass: tally.tooMany === 0, detail: `${tally.tooMany} × 429` },
      { name: 'no 5xx, every request answered', pass: tally.failures() === 0, detail: tally.describe() },
    ];
    const main: ScenarioResult = {
      scenario: 'sale-opening',
      target: `first admission <= 2 s after the opening; admitted/min within 5% of ${sale.admitPerMinute}; |rho| < 0.1; 0 × 429`,
      targetMet: firstByRoom <= 2_000 && Math.abs(rateRatio - 1) <= 0.05 && Math.abs(rho) < 0.1 && tally.tooMany === 0,
      operations,
      durationSeconds: windowSeconds,
      throughputPerSecond: operations / windowSeconds,
      latencyMs: latencySummary(measuredKinds),
      errors: tally.failures(),
      checks,
      cpu,
      notes: [
        `${pre.length} fans in the pre-queue (lined up in ${preEntrySeconds.toFixed(1)} s), ${late.length} arriving after the opening at ${config.BENCH_OPENING_ARRIVAL_RATE}/s (dispatched in ${arrivalSeconds.toFixed(1)} s, the last one in line ${lateInLineSeconds.toFixed(1)} s after the opening), ${streamCount} holding an event stream, the others polling at pollAfterMs; each from its own address (X-Forwarded-For); the sale: maxActive ${sale.maxActive}, admitPerMinute ${sale.admitPerMinute}, activeMinutes ${sale.activeMinutes}; admitted fans buy after ${config.BENCH_OPENING_THINK_MS} ms; measured over ${windowSeconds} s from the opening`,
        `entries (POST /queue/tokens, all ${tally.entryMs.length}, the pre-queue's included): ${JSON.stringify(latencySummary(tally.entryMs))} ms`,
        `opening → first admission: ${firstByRoom} ms by the room (admin view sampled every 250 ms), ${firstSeenByFan} ms as a fan saw it; drawn ${draw ? Date.parse(draw.drawnAt) - saleOpensAtMs : NaN} ms after saleOpensAt`,
        `admitted per minute: ${admittedPerMinute.toFixed(0)} against the sale's ${sale.admitPerMinute} (${(rateRatio * 100).toFixed(1)}%), from the room's admitted total while fans waited; ${admitted.length} fans seen admitted in the window`,
        `fairness: Spearman rho between pre-queue arrival (pre-ticket) and drawn ticket ${rho.toFixed(4)} over ${entries.length} fans (room's drawn hash, audited against the recorded seed)`,
        `ETA error |predicted - actual| / actual (first WAITING place seen after the opening → first seen ACTIVE): ${etaLine(errorsAll)}; fans with an event stream alone (admission seen within a tick): ${etaLine(errorsStreaming)}`,
        `429s seen by the fans: ${tally.tooMany}; streams: ${streamStats.opened} opened, ${streamStats.refused} refused, ${streamStats.closedByGateway} closed by the gateway and reopened`,
        `status polls in the window: p50 ${polls.p50} ms, p99 ${polls.p99} ms; requests that waited for one of the ${config.BENCH_OPENING_MAX_IN_FLIGHT} places in flight: ${sentLateMs.length} (p99 ${percentile(sentLateMs, 99) || 0} ms late${sentLateMs.length ? ': the stack answered slower than the fans asked' : ''})`,
        `the bench's own process used ${(clientCores * 100).toFixed(0)}% of a core over the window, event-loop delay p99 ${loopP99.toFixed(0)} ms: ${clientVerdict}`,
      ],
    };
    const failedBuys = [...purchases.failed.values()].reduce((a, b) => a + b, 0);
    const buyLatency = latencySummary(purchases.latencies);
    const buying: ScenarioResult = {
      scenario: 'sale-opening purchases',
      target: 'every admitted fan who buys gets the seat; report the time',
      targetMet: failedBuys === 0,
      operations: purchases.completed,
      durationSeconds: windowSeconds,
      throughputPerSecond: purchases.completed / windowSeconds,
      latencyMs: buyLatency,
      errors: failedBuys,
      checks: [
        { name: 'every purchase completed (charge, hold, pay)', pass: purchases.started > 0 && purchases.completed === purchases.started, detail: `${purchases.completed}/${purchases.started} completed${failedBuys ? `; failed ${JSON.stringify(Object.fromEntries(purchases.failed))}` : ''}` },
      ],
      notes: [
        `latency = charge sent → payment COMPLETED (a 202 followed); ${purchases.slotFreedByPayment} slots ended by payment.completed within 1.5 s, ${purchases.slotKeptAfterPayment} still active then (given up with DELETE /queue/tokens/me so the cap does not bind)`,
      ],
    };
    return [main, buying];
  }
}

/**
 * POST /users from a loopback source address of its own (127.0.0.N): sign-ups are limited per address
 * (RATE_LIMIT_SIGNUPS, 20 an hour), and these accounts are the bench's, made once per machine.
 */
function signUpFrom(sourceAddress: string, body: unknown): Promise<number> {
  const url = new URL(`${api}/users`);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress: sourceAddress, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    request.once('error', reject);
    request.end(payload);
  });
}

/**
 * The bench's own accounts (`bench-opening-login-N`, signed up on first use from addresses of their own),
 * then each logs in once (a burst at 8 connections): log-ins per second per core of the gateway.
 */
async function loginBurst(): Promise<ScenarioResult> {
  const password = 'bench-password-123';
  const accounts: { email: string; address: string }[] = [];
  const signUps = new Map<number, number>();
  for (let i = 0; i < config.BENCH_OPENING_LOGINS; i += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, config.BENCH_OPENING_LOGINS - i) }, async (_, j) => {
        const n = i + j;
        const email = `bench-opening-login-${n}@example.com`;
        // A source address per 10 accounts, far from the ones the fans' X-Forwarded-For use.
        const status = await signUpFrom(`127.0.${200 + Math.floor(n / 2_500)}.${10 + (Math.floor(n / 10) % 240)}`, { email, name: 'Bench', password });
        signUps.set(status, (signUps.get(status) ?? 0) + 1);
        // 409: made by an earlier run, which is what these accounts are for.
        if (status === 201 || status === 409) accounts.push({ email, address: addressOf(60_000 + n, 0) });
      }),
    );
  }
  if (accounts.length === 0) throw new Error(`no account could sign up: ${JSON.stringify(Object.fromEntries(signUps))}`);
  const connections = Math.min(8, accounts.length);
  const perConnection = Math.floor(accounts.length / connections);
  const statuses = new Map<number, number>();
  let next = 0;
  const load = createMeasurement();
  try {
    await load.run({
      url: `${api}/sessions`,
      connections,
      maxConnectionRequests: perConnection,
      duration: 600, // an upper bound: the burst ends when each account has logged in once
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => {
            const account = accounts[next++ % accounts.length];
            return { ...req, headers: { 'content-type': 'application/json', 'x-forwarded-for': account.address }, body: JSON.stringify({ email: account.email, password }) };
          },
          onResponse: (status) => void statuses.set(status, (statuses.get(status) ?? 0) + 1),
        },
      ],
    });
  } finally {
    load.close();
  }
  const summary = load.summary(statuses.get(200) ?? 0);
  const gatewaySeconds = summary.cpu?.seconds['queue-gateway'] ?? NaN;
  const perCore = (statuses.get(200) ?? 0) / gatewaySeconds;
  return {
    scenario: 'sale-opening login',
    target: '>= 30 log-ins per second per core of the gateway',
    targetMet: perCore >= 30,
    ...summary,
    errors: load.totals.errors + load.totals.non2xx,
    checks: [{ name: 'every log-in answered 200', pass: load.totals.non2xx === 0 && load.totals.errors === 0, detail: `answers ${JSON.stringify(Object.fromEntries(statuses))}, ${load.totals.errors} errors` }],
    notes: [
      `${perCore.toFixed(1)} log-ins per second per core: ${statuses.get(200) ?? 0} log-ins over ${gatewaySeconds.toFixed(2)} s of the gateway's CPU (${summary.throughputPerSecond.toFixed(1)}/s on the clock, ${connections} connections, each of ${accounts.length} accounts once, each from its own address); sign-ups before it ${JSON.stringify(Object.fromEntries(signUps))}`,
    ],
  };
}
