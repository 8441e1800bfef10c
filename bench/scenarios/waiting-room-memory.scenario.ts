import { randomUUID } from 'node:crypto';
import { commonSchema, loadConfig } from '@ticketing/config';
import Redis from 'ioredis';
import { z } from 'zod';
import { createWaitingRoom, type WaitingRoom } from '../../apps/queue-gateway/src/waiting-room/waiting-room.repository';
import { cpuReport } from '../lib/cpu';
import { createCpuMeter, type CpuMeter } from '../lib/cpu-meter';
import { latencySummary, type Check, type Scenario } from '../lib/report';

const config = loadConfig(
  commonSchema.extend({
    BENCH_DURATION_S: z.coerce.number().min(1).default(10),
    BENCH_WAITING_LARGE: z.coerce.number().int().min(1_000).default(1_000_000),
    BENCH_CONCURRENCY: z.coerce.number().int().min(1).default(256),
  }),
);
const SMALL = 1_000;
const TARGET = { bytesPerWaiter: 200, enterPerSecond: 3_000, statusPerSecond: 5_000, keptAtScale: 0.9 };
const now = () => performance.now();

interface Measured {
  rate: number;
  operations: number;
  latencies: number[];
  errors: number;
  /** Redis time per script call (commandstats) and the share of one core Redis used meanwhile. */
  redisMicrosPerCall: number;
  redisCpu: number;
}

async function redisCounters(redis: Redis) {
  const [commands, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')]);
  const evalsha = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(commands);
  const seconds = ['used_cpu_sys', 'used_cpu_user'].reduce((sum, name) => sum + Number(new RegExp(`${name}:([\\d.]+)`).exec(cpu)?.[1] ?? 0), 0);
  return { calls: Number(evalsha?.[1] ?? 0), usec: Number(evalsha?.[2] ?? 0), cpuSeconds: seconds };
}

/** Closed loop: `concurrency` callers, each issuing the next operation when the last one answered (the stack's CPU meanwhile goes to `meter`). */
async function measure(redis: Redis, meter: CpuMeter, seconds: number, concurrency: number, op: () => Promise<unknown>): Promise<Measured> {
  const latencies: number[] = [];
  let errors = 0;
  const before = await redisCounters(redis);
  const elapsed = await meter.measure(async () => {
    const start = now();
    const end = start + seconds * 1_000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (now() < end) {
          const t0 = now();
          try {
            await op();
            latencies.push(now() - t0);
          } catch {
            errors++;
          }
        }
      }),
    );
    return (now() - start) / 1_000;
  });
  const after = await redisCounters(redis);
  return {
    rate: latencies.length / elapsed,
    operations: latencies.length,
    latencies,
    errors,
    redisMicrosPerCall: (after.usec - before.usec) / Math.max(1, after.calls - before.calls),
    redisCpu: (after.cpuSeconds - before.cpuSeconds) / elapsed,
  };
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/** Lines up `count` new users as fast as one process can (a window of scripts in flight); returns them in ticket order. */
async function fill(room: WaitingRoom, count: number): Promise<{ users: string[]; tickets: number[] }> {
  const users = Array.from({ length: count }, () => randomUUID());
  const tickets = new Array<number>(count);
  const window = 2_000;
  for (let i = 0; i < count; i += window) {
    const batch = users.slice(i, i + window);
    const entries = await Promise.all(batch.map((u) => room.enter(u)));
    entries.forEach((e, j) => {
      if ('refused' in e) throw new Error(`the room refused a fan: ${e.refused}`);
      tickets[i + j] = e.ticket;
    });
  }
  return { users, tickets };
}

interface SizeResult {
  waiting: number;
  admitTickMs: number;
  bytesPerWaiterKey: number;
  bytesPerWaiterServer: number;
  enter: Measured;
  status: Measured;
  positionsExact: boolean;
}

async function runAtSize(redis: Redis, meter: CpuMeter, waiting: number, seconds: number): Promise<SizeResult> {
  const prefix = `bench_wr_${Date.now().toString(36)}_${waiting}`;
  // Slots and leases out of the way: this measures the line, which only admission ever shortens.
  const roomOptions = { redis, keyPrefix: prefix, waitingLeaseMs: 24 * 3_600_000 };
  const room = createWaitingRoom(roomOptions);
  // One slot that lasts an hour, open since the epoch: the line is what is measured.
  await room.configure({ revision: 1, queueOpensAt: 0, saleOpensAt: 0, maxActive: 1, admitPerMinute: 1_000_000, activeMs: 3_600_000, mode: 'queue', powDifficulty: 0 });
  try {
    const before = await usedMemory(redis);
    const { users, tickets } = await fill(room, waiting);
    const after = await usedMemory(redis);
    const keyBytes = Number(await redis.call('MEMORY', 'USAGE', room.keys.line, 'SAMPLES', '0'));

    // New arrivals would grow the small line a hundredfold during the run; trimming the newest keeps
    // the size near `waiting` and the first `waiting` tickets untouched.
    let trimming = true;
    const trimmer = (async () => {
      while (trimming) {
        await redis.zremrangebyrank(room.keys.line, waiting, -1);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const enter = await measure(redis, meter, seconds, config.BENCH_CONCURRENCY, () => room.enter(randomUUID()));
    trimming = false;
    await trimmer;
    await redis.zremrangebyrank(room.keys.line, waiting, -1);

    // Real polls of one user come seconds apart, so each renews the lease (a write). A clock that moves
    // 100 ms per call makes that true here too, where 1,000 users are polled thousands of times a second.
    let clock = Date.now();
    const polling = createWaitingRoom({ ...roomOptions, now: () => (clock += 100) });
    let i = 0;
    const status = await measure(redis, meter, seconds, config.BENCH_CONCURRENCY, () => {
      const k = (i = (i + 7_919) % waiting); // a stride over the whole line, not one hot spot
      return polling.status(users[k], tickets[k]);
    });

    const samples = Array.from({ length: 200 }, () => Math.floor(Math.random() * waiting));
    const places = await Promise.all(samples.map((k) => room.status(users[k], tickets[k])));
    // A fresh room numbers its arrivals 1..n, so a waiter's position is its ticket.
    const positionsExact = places.every((p, j) => p.status === 'WAITING' && p.position === tickets[samples[j]]);

    // An admission tick as a gateway runs it (with the room's snapshot), the default 60 s lease, one
    // second after the last: it sweeps a bounded slice of the line for lapsed leases and ranks the
    // snapshot's checkpoints (the script's run time is how long Redis is blocked per tick).
    let tickClock = Date.now();
    const ticking = createWaitingRoom({ ...roomOptions, waitingLeaseMs: 60_000, now: () => (tickClock += 1_000) });
    await ticking.admitAndSnapshot('0-0');
    const tickMs: number[] = [];
    for (let t = 0; t < 10; t++) {
      const t0 = now();
      await ticking.admitAndSnapshot('0-0');
      tickMs.push(now() - t0);
    }
    return {
      waiting,
      admitTickMs: tickMs.reduce((a, b) => a + b, 0) / tickMs.length,
      bytesPerWaiterKey: keyBytes / waiting,
      bytesPerWaiterServer: (after - before) / waiting,
      enter,
      status,
      positionsExact,
    };
  } finally {
    await redis.unlink(...Object.values(room.keys));
  }
}

/**
 * The waiting room straight against Redis from one process (no HTTP): Redis memory per waiting user,
 * and the rates of `enter` (new arrivals) and `status` (polling) with 1,000 and with 1,000,000 waiting.
 */
export const scenario: Scenario = {
  name: 'waiting-room-memory',
  description: 'waiting room in Redis: bytes per waiting user, enter/status rates at 1k and 1M waiting',
  async run() {
    const redis = new Redis(config.REDIS_URL, { enableAutoPipelining: true });
    const meter = createCpuMeter();
    try {
      const small = await runAtSize(redis, meter, SMALL, config.BENCH_DURATION_S);
      const large = await runAtSize(redis, meter, config.BENCH_WAITING_LARGE, config.BENCH_DURATION_S);
      const bytes = Math.max(large.bytesPerWaiterKey, large.bytesPerWaiterServer);
      const kept = (a: Measured, b: Measured) => b.rate / a.rate;
      const targetMet =
        bytes <= TARGET.bytesPerWaiter &&
        Math.min(small.enter.rate, large.enter.rate) >= TARGET.enterPerSecond &&
        Math.min(small.status.rate, large.status.rate) >= TARGET.statusPerSecond &&
        kept(small.enter, large.enter) >= TARGET.keptAtScale &&
        kept(small.status, large.status) >= TARGET.keptAtScale;
      const errors = small.enter.errors + small.status.errors + large.enter.errors + large.status.errors;
      const checks: Check[] = [
        { name: 'positions exact with 1,000 waiting', pass: small.positionsExact, detail: '200 sampled waiters: position = ticket order' },
        { name: `positions exact with ${large.waiting.toLocaleString('en')} waiting`, pass: large.positionsExact, detail: '200 sampled waiters: position = ticket order' },
        { name: 'no failed operations', pass: errors === 0, detail: `${errors} errors` },
      ];
      const round = (n: number) => Math.round(n);
      const pct = (n: number) => `${Math.round(n * 100)}%`;
      const line = (r: SizeResult) =>
        `${r.waiting.toLocaleString('en')} waiting: ${round(r.bytesPerWaiterKey)} B/user (line key, MEMORY USAGE), ` +
        `${round(r.bytesPerWaiterServer)} B/user (used_memory delta); enter ${round(r.enter.rate)}/s ` +
        `(p99 ${latencySummary(r.enter.latencies).p99} ms, Redis ${r.enter.redisMicrosPerCall.toFixed(1)} µs/call, ${pct(r.enter.redisCpu)} of a core), ` +
        `status ${round(r.status.rate)}/s (p99 ${latencySummary(r.status.latencies).p99} ms, Redis ${r.status.redisMicrosPerCall.toFixed(1)} µs/call, ${pct(r.status.redisCpu)} of a core); ` +
        `admission tick ${r.admitTickMs.toFixed(1)} ms`;
      const operations = small.enter.operations + small.status.operations + large.enter.operations + large.status.operations;
      return {
        scenario: 'waiting-room-memory',
        target: `<= ${TARGET.bytesPerWaiter} B/user; enter >= ${TARGET.enterPerSecond}/s, status >= ${TARGET.statusPerSecond}/s, kept within 10% at 1M`,
        targetMet,
        operations,
        durationSeconds: config.BENCH_DURATION_S * 4,
        // The headline: polling with the large line, the operation a sold-out sale is made of.
        throughputPerSecond: large.status.rate,
        latencyMs: latencySummary(large.status.latencies),
        errors,
        checks,
        cpu: cpuReport(meter.used, operations),
        ceiling: 'node-redis',
        notes: [
          line(small),
          line(large),
          `at scale kept ${(kept(small.enter, large.enter) * 100).toFixed(0)}% of the enter rate and ${(kept(small.status, large.status) * 100).toFixed(0)}% of the status rate`,
          `one Node process, one auto-pipelined connection, ${config.BENCH_CONCURRENCY} callers in a closed loop; latency columns = status at the large size`,
          'no HTTP here: compared with the Node http + one Redis script ceiling, a ratio above 1 is what HTTP costs; CPU over the four measured loops (the filling of the line is not counted), the scripts run in the load-gen process',
        ],
      };
    } finally {
      meter.close();
      redis.disconnect();
    }
  },
};
