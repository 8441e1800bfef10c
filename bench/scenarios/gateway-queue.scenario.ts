import { commonSchema, loadConfig, resolveSecrets } from '@ticketing/config';
import autocannon from 'autocannon';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createSessionTokens } from '../../apps/queue-gateway/src/sessions/session-token';
import { createWaitingRoom } from '../../apps/queue-gateway/src/waiting-room/waiting-room.repository';
import { waitingRoomKeys } from '../../apps/queue-gateway/src/waiting-room/waiting-room.scripts';
import { type Check, type Scenario, type ScenarioResult } from '../lib/report';

const config = loadConfig(
  commonSchema.extend({
    GATEWAY_URL: z.string().url().default('http://127.0.0.1:3000'),
    SESSION_JWT_SECRET: z.string().optional(),
    QUEUE_KEY_PREFIX: z.string().default('wr'),
    BENCH_DURATION_S: z.coerce.number().min(1).default(10),
    BENCH_CONNECTIONS: z.coerce.number().int().min(1).default(64),
    BENCH_GATEWAY_WAITING: z.coerce.number().int().min(0).default(1_000_000),
    BENCH_LOGIN_USERS: z.coerce.number().int().min(1).default(8),
  }),
);
const api = `${config.GATEWAY_URL}/api/v1`;

interface Run {
  result: autocannon.Result;
  checks: Check[];
}

/**
 * Sessions minted with the gateway's session secret, as `POST /sessions` would issue them: a fan logs
 * in before the sale opens; what is measured here is entering the line and polling it.
 */
async function mintSessions(count: number): Promise<string[]> {
  const { SESSION_JWT_SECRET } = resolveSecrets(config, ['SESSION_JWT_SECRET']);
  const tokens = createSessionTokens({ secret: SESSION_JWT_SECRET, ttlSeconds: 3600, issuer: 'queue-gateway' });
  return Promise.all(Array.from({ length: count }, async () => (await tokens.issue(randomUUID())).token));
}

function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (error, result) => (error ? reject(error) : resolve(result)));
    autocannon.track(instance, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
  });
}

/** POST /queue/tokens, each request a different signed-in fan. */
async function queueEntry(sessions: string[]): Promise<Run> {
  let next = 0;
  const tickets = new Set<number>();
  let duplicateTickets = 0;
  const result = await run({
    url: `${api}/queue/tokens`,
    connections: config.BENCH_CONNECTIONS,
    duration: config.BENCH_DURATION_S,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const session = sessions[next++ % sessions.length];
          return { ...req, headers: { ...req.headers, authorization: `Bearer ${session}` } };
        },
        onResponse: (status, body) => {
          if (status !== 201) return;
          const token = JSON.parse(body).queueToken as string;
          const ticket = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).tkt as number;
          if (tickets.has(ticket)) duplicateTickets++;
          tickets.add(ticket);
        },
      },
    ],
  });
  return {
    result,
    checks: [
      { name: 'every entry answered 201', pass: result.non2xx === 0 && result.errors === 0, detail: `${result.non2xx} non-2xx, ${result.errors} errors` },
      { name: 'one ticket per fan, none shared', pass: duplicateTickets === 0, detail: `${tickets.size} distinct tickets, ${duplicateTickets} duplicates` },
    ],
  };
}

/** GET /queue/status with session + queue token, cycling over fans already in line. */
async function statusPolling(pairs: { session: string; token: string }[]): Promise<Run> {
  let next = 0;
  const result = await run({
    url: `${api}/queue/status`,
    connections: config.BENCH_CONNECTIONS,
    duration: config.BENCH_DURATION_S,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          const pair = pairs[next++ % pairs.length];
          return { ...req, headers: { ...req.headers, authorization: `Bearer ${pair.session}`, 'x-queue-token': pair.token } };
        },
      },
    ],
  });
  return { result, checks: [{ name: 'every poll answered 200', pass: result.non2xx === 0 && result.errors === 0, detail: `${result.non2xx} non-2xx, ${result.errors} errors` }] };
}

/** Enters fans and keeps their (session, queue token) pairs, for polling. */
async function lineUp(count: number): Promise<{ session: string; token: string }[]> {
  const sessions = await mintSessions(count);
  const pairs: { session: string; token: string }[] = [];
  for (let i = 0; i < sessions.length; i += 200) {
    const batch = await Promise.all(
      sessions.slice(i, i + 200).map(async (session) => {
        const res = await fetch(`${api}/queue/tokens`, { method: 'POST', headers: { authorization: `Bearer ${session}` } });
        return { session, token: ((await res.json()) as { queueToken: string }).queueToken };
      }),
    );
    pairs.push(...batch);
  }
  return pairs;
}

function toResult(name: string, target: string, targetMet: boolean, r: Run, notes: string[] = []): ScenarioResult {
  return {
    scenario: name,
    target,
    targetMet,
    operations: r.result.requests.total,
    durationSeconds: r.result.duration,
    throughputPerSecond: r.result.requests.average,
    latencyMs: { p50: r.result.latency.p50, p99: r.result.latency.p99, max: r.result.latency.max },
    errors: r.result.errors + r.result.non2xx,
    checks: r.checks,
    notes,
  };
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
}

/**
 * Queue entry and status polling through the gateway of the running stack (autocannon, one process),
 * first with the line as it is, then with BENCH_GATEWAY_WAITING more fans waiting (lined up directly in
 * Redis with the gateway's own script, removed afterwards), then the login rate.
 */
export const scenario: Scenario = {
  name: 'gateway-queue',
  description: 'POST /queue/tokens and GET /queue/status through the gateway with a short and a 1M-long line; logins',
  run: runAll,
};

async function runAll(): Promise<ScenarioResult[]> {
  const ready = await fetch(`${config.GATEWAY_URL}/health/ready`).then((r) => r.ok, () => false);
  if (!ready) throw new Error(`no ready gateway at ${config.GATEWAY_URL}: start the stack with \`npm start\` first`);
  const results: ScenarioResult[] = [];
  const poll = await lineUp(1_000);
  const entry = await queueEntry(await mintSessions(50_000));
  results.push(toResult('queue-entry', '>= 3,000/s, p99 <= 50 ms', entry.result.requests.average >= 3000 && entry.result.latency.p99 <= 50, entry));
  const polling = await statusPolling(poll);
  results.push(toResult('queue-status', '>= 5,000/s, p99 <= 30 ms', polling.result.requests.average >= 5000 && polling.result.latency.p99 <= 30, polling));

  if (config.BENCH_GATEWAY_WAITING > 0) {
    const redis = new Redis(config.REDIS_URL);
    const keys = waitingRoomKeys(config.QUEUE_KEY_PREFIX);
    // A long lease so the filler fans are not swept while we measure; they are removed afterwards.
    const room = createWaitingRoom({ redis, keyPrefix: config.QUEUE_KEY_PREFIX, maxActive: 1, activeTtlMs: 300_000, waitingLeaseMs: 24 * 3_600_000 });
    const before = await usedMemory(redis);
    let first = Infinity;
    let last = 0;
    for (let i = 0; i < config.BENCH_GATEWAY_WAITING; i += 2_000) {
      const entries = await Promise.all(Array.from({ length: Math.min(2_000, config.BENCH_GATEWAY_WAITING - i) }, () => room.enter(randomUUID())));
      for (const e of entries) {
        first = Math.min(first, e.ticket);
        last = Math.max(last, e.ticket);
      }
    }
    const bytesPerWaiter = ((await usedMemory(redis)) - before) / config.BENCH_GATEWAY_WAITING;
    try {
      const pollLarge = await lineUp(1_000);
      const entryLarge = await queueEntry(await mintSessions(50_000));
      const pollingLarge = await statusPolling(pollLarge);
      const within = (large: number, small: number) => large >= small * 0.9;
      const size = config.BENCH_GATEWAY_WAITING.toLocaleString('en');
      results.push(
        toResult(`queue-entry @${size}`, `within 10% of ${entry.result.requests.average.toFixed(0)}/s`, within(entryLarge.result.requests.average, entry.result.requests.average), entryLarge, [
          `Redis memory per waiting fan: ${bytesPerWaiter.toFixed(1)} B (used_memory delta over ${size} fans; target <= 200 B)`,
        ]),
      );
      results.push(toResult(`queue-status @${size}`, `within 10% of ${polling.result.requests.average.toFixed(0)}/s`, within(pollingLarge.result.requests.average, polling.result.requests.average), pollingLarge));
    } finally {
      // The filler fans hold tickets first..last: remove exactly those from the line.
      await redis.zremrangebyscore(keys.line, first, `(${last + 1}`);
      redis.disconnect();
    }
  }

  const logins = await loginRate();
  results.push(logins);
  return results;
}

/** POST /sessions with real accounts: the rate the password-hash settings allow. */
async function loginRate(): Promise<ScenarioResult> {
  const users = await Promise.all(
    Array.from({ length: config.BENCH_LOGIN_USERS }, async () => {
      const email = `bench-${randomUUID()}@example.com`;
      const password = 'bench-password-123';
      const res = await fetch(`${api}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, name: 'Bench', password }) });
      if (res.status !== 201) throw new Error(`sign-up failed: ${res.status}`);
      return JSON.stringify({ email, password });
    }),
  );
  let next = 0;
  const result = await run({
    url: `${api}/sessions`,
    connections: 8,
    duration: config.BENCH_DURATION_S,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: users[next++ % users.length] }) }],
  });
  return toResult('login', 'report the rate (scrypt N=2^15, r=8, p=3)', true, {
    result,
    checks: [{ name: 'every login answered 200', pass: result.non2xx === 0 && result.errors === 0, detail: `${result.non2xx} non-2xx, ${result.errors} errors` }],
  });
}
