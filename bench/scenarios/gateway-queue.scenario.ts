import { loadConfig } from '@ticketing/config';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createWaitingRoom } from '../../apps/queue-gateway/src/waiting-room/waiting-room.repository';
import { benchConfig } from '../lib/bench-config';
import { enter, entryBody, fanHeaders, leave, lineUp, roomKeys, roomPrefix, signIn, type Fan } from '../lib/fans';
import { createMeasurement, createSaleConcert, inBatches, type Measurement } from '../lib/load';
import { type Check, type Scenario, type ScenarioResult } from '../lib/report';

const config = loadConfig(
  z.object({
    BENCH_DURATION_S: z.coerce.number().min(1).default(10),
    BENCH_GATEWAY_WAITING: z.coerce.number().int().min(0).default(1_000_000),
    BENCH_LOGIN_USERS: z.coerce.number().int().min(1).default(8),
  }),
);
const { api } = benchConfig;

interface Run {
  load: Measurement;
  checks: Check[];
}

/** Signed-in fans (sessions minted as POST /sessions issues them: a fan logs in before the sale opens). */
async function signedIn(count: number): Promise<{ userId: string; session: string }[]> {
  const sessions: { userId: string; session: string }[] = [];
  await inBatches(Array.from({ length: count }, (_, i) => i), 1_000, async () => void sessions.push(await signIn()));
  return sessions;
}

/** POST /queue/tokens into the concert's room, each request a different signed-in fan; every fan that may have got in is added to `entered`, to leave afterwards. */
async function queueEntry(concertId: string, sessions: { userId: string; session: string }[], entered: Fan[]): Promise<Run> {
  let next = 0;
  // Requests in flight when autocannon stops are never answered to us, but may have put their fan in line.
  const unanswered = new Set<{ userId: string; session: string }>();
  // A fan asked again (the sessions go round when the run outlasts them) must get the same ticket back;
  // two fans must never share one.
  const ownerOf = new Map<number, string>();
  const ticketOf = new Map<string, number>();
  let shared = 0;
  let moved = 0;
  const load = createMeasurement();
  type Ctx = { fan?: { userId: string; session: string } };
  await load.run({
    url: `${api}/queue/tokens`,
    connections: benchConfig.BENCH_CONNECTIONS,
    duration: config.BENCH_DURATION_S,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: entryBody(concertId),
        setupRequest: (req, context) => {
          const fan = sessions[next++ % sessions.length];
          (context as Ctx).fan = fan;
          unanswered.add(fan);
          return { ...req, headers: { ...req.headers, authorization: `Bearer ${fan.session}` } };
        },
        onResponse: (status, body, context) => {
          unanswered.delete((context as Ctx).fan!);
          if (status !== 201) return;
          const token = JSON.parse(body).queueToken as string;
          entered.push({ ...(context as Ctx).fan!, concertId, queueToken: token });
          const ticket = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).tkt as number;
          const { userId } = (context as Ctx).fan!;
          if ((ownerOf.get(ticket) ?? userId) !== userId) shared++;
          if ((ticketOf.get(userId) ?? ticket) !== ticket) moved++;
          ownerOf.set(ticket, userId);
          ticketOf.set(userId, ticket);
        },
      },
    ],
  }).finally(() => load.close());
  // Asking again gives such a fan its place (the same one) and a token to leave with.
  await inBatches([...unanswered], 64, async (fan) => void entered.push(await enter(fan, concertId)));
  const result = load.totals;
  return {
    load,
    checks: [
      { name: 'every entry answered 201', pass: result.non2xx === 0 && result.errors === 0, detail: `${result.non2xx} non-2xx, ${result.errors} errors` },
      {
        name: 'one ticket per fan (asking again gives the same one), none shared',
        pass: shared === 0 && moved === 0,
        detail: `${ownerOf.size} distinct tickets for ${ticketOf.size} fans; ${shared} shared with another fan, ${moved} fans given another ticket`,
      },
    ],
  };
}

/** GET /queue/status with session + queue token, cycling over fans already in line. */
async function statusPolling(fans: Fan[]): Promise<Run> {
  let next = 0;
  const load = createMeasurement();
  await load.run({
    url: `${api}/queue/status`,
    connections: benchConfig.BENCH_CONNECTIONS,
    duration: config.BENCH_DURATION_S,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...fanHeaders(fans[next++ % fans.length]) } }) }],
  }).finally(() => load.close());
  const result = load.totals;
  return { load, checks: [{ name: 'every poll answered 200', pass: result.non2xx === 0 && result.errors === 0, detail: `${result.non2xx} non-2xx, ${result.errors} errors` }] };
}

/** A row compared with express hello; `goals` are the parts of the target the runner judges against the ceilings and CPU. */
function toResult(name: string, target: string, targetMet: (r: ScenarioResult) => boolean, { load, checks }: Run, notes: string[] = [], goals: Pick<ScenarioResult, 'targetRatio' | 'targetCpuMs'> = {}): ScenarioResult {
  const row: ScenarioResult = { scenario: name, target, targetMet: false, ...load.summary(), errors: load.totals.errors + load.totals.non2xx, checks, notes, ceiling: 'express-hello', ...goals };
  return { ...row, targetMet: targetMet(row) };
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
}

/**
 * Queue entry and status polling through the gateway of the running stack (autocannon, one process),
 * in the room of a concert of its own (a sale of BENCH_MAX_ACTIVE slots): first with the line as it
 * is, then with BENCH_GATEWAY_WAITING more fans waiting in that room (lined up directly in Redis with
 * the gateway's own script, removed afterwards), then the login rate.
 */
export const scenario: Scenario = {
  name: 'gateway-queue',
  description: 'POST /queue/tokens and GET /queue/status through the gateway with a short and a 1M-long line; logins',
  run: runAll,
};

async function runAll(): Promise<ScenarioResult[]> {
  const ready = await fetch(`${benchConfig.GATEWAY_URL}/health/live`).then((r) => r.ok, () => false);
  if (!ready) throw new Error(`no ready gateway at ${benchConfig.GATEWAY_URL}: start the stack with \`npm start\` first`);
  const results: ScenarioResult[] = [];
  // Everyone this scenario lines up leaves at the end, so the next scenario finds the room as this one did.
  const entered: Fan[] = [];
  const { concertId } = await createSaleConcert(api, { adminKey: benchConfig.ADMIN_API_KEY, dates: 0, title: 'Gateway queue' });
  try {
    const poll = await lineUp(1_000, concertId);
    entered.push(...poll);
    const entry = toResult('queue-entry', '>= 0.6× express hello, <= 0.35 ms gateway CPU per entry, p99 <= 50 ms', (r) => r.latencyMs.p99 <= 50, await queueEntry(concertId, await signedIn(50_000), entered), [], {
      targetRatio: 0.6,
      targetCpuMs: { processes: ['queue-gateway'], max: 0.35 },
    });
    results.push(entry);
    const polling = toResult('queue-status', '>= 0.8× express hello, <= 0.25 ms gateway CPU per answer, p99 <= 30 ms', (r) => r.latencyMs.p99 <= 30, await statusPolling(poll), [], {
      targetRatio: 0.8,
      targetCpuMs: { processes: ['queue-gateway'], max: 0.25 },
    });
    results.push(polling);

    if (config.BENCH_GATEWAY_WAITING > 0) {
      const redis = new Redis(benchConfig.REDIS_URL);
      const keys = roomKeys(concertId);
      // The room the pollers stand in (its sale is the one configured above). A long lease so the
      // filler fans are not swept while we measure; they are removed afterwards.
      const room = createWaitingRoom({ redis, keyPrefix: roomPrefix(concertId), waitingLeaseMs: 24 * 3_600_000 });
      const before = await usedMemory(redis);
      let first = Infinity;
      let last = 0;
      try {
        for (let i = 0; i < config.BENCH_GATEWAY_WAITING; i += 2_000) {
          const entries = await Promise.all(Array.from({ length: Math.min(2_000, config.BENCH_GATEWAY_WAITING - i) }, () => room.enter(randomUUID())));
          for (const e of entries) {
            if ('refused' in e) throw new Error(`the bench's room refused a filler fan: ${e.refused}`);
            first = Math.min(first, e.ticket);
            last = Math.max(last, e.ticket);
          }
        }
        const bytesPerWaiter = ((await usedMemory(redis)) - before) / config.BENCH_GATEWAY_WAITING;
        const pollLarge = await lineUp(1_000, concertId);
        entered.push(...pollLarge);
        const within = (small: ScenarioResult) => (large: ScenarioResult) => large.throughputPerSecond >= small.throughputPerSecond * 0.9;
        const size = config.BENCH_GATEWAY_WAITING.toLocaleString('en');
        results.push(
          toResult(`queue-entry @${size}`, `within 10% of ${entry.throughputPerSecond.toFixed(0)}/s`, within(entry), await queueEntry(concertId, await signedIn(50_000), entered), [
            `Redis memory per waiting fan: ${bytesPerWaiter.toFixed(1)} B (used_memory delta over ${size} fans; target <= 200 B)`,
          ]),
        );
        results.push(toResult(`queue-status @${size}`, `within 10% of ${polling.throughputPerSecond.toFixed(0)}/s`, within(polling), await statusPolling(pollLarge)));
      } finally {
        // The filler fans hold tickets first..last: remove exactly those from the line.
        if (last > 0) await redis.zremrangebyscore(keys.line, first, `(${last + 1}`);
        redis.disconnect();
      }
    }
  } finally {
    await leave(entered);
  }

  results.push(await loginRate());
  return results;
}

/**
 * POST /sessions with real accounts: the rate the password hash allows. The accounts are the same on
 * every run (fixed emails and password, signed up only where logging in fails), so running the
 * benchmark again and again signs nobody up and stays under the gateway's sign-up limit per address;
 * every log-in succeeds, so the failed-log-in limits are not touched either.
 */
async function loginRate(): Promise<ScenarioResult> {
  const password = 'bench-password-123';
  const post = (path: string, body: unknown) => fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const users = await Promise.all(
    Array.from({ length: config.BENCH_LOGIN_USERS }, async (_, i) => {
      const email = `bench-login-${i}@example.com`;
      const logIn = await post('/sessions', { email, password });
      await logIn.arrayBuffer();
      if (logIn.status !== 200) {
        const signUp = await post('/users', { email, name: 'Bench', password });
        if (signUp.status !== 201) throw new Error(`sign-up of ${email} failed: ${signUp.status} ${await signUp.text()}`);
      }
      return JSON.stringify({ email, password });
    }),
  );
  let next = 0;
  const load = createMeasurement();
  await load.run({
    url: `${api}/sessions`,
    connections: 8,
    duration: config.BENCH_DURATION_S,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: users[next++ % users.length] }) }],
  }).finally(() => load.close());
  const result = load.totals;
  // 30 log-ins per second per core = at most 33 ms of gateway CPU per log-in.
  return toResult('login', '>= 30 log-ins/s per core (argon2id m=19 MiB, t=2, p=1): <= 33 ms gateway CPU per log-in', () => true, {
    load,
    checks: [{ name: 'every login answered 200', pass: result.non2xx === 0 && result.errors === 0, detail: `${result.non2xx} non-2xx, ${result.errors} errors` }],
  }, [], { targetCpuMs: { processes: ['queue-gateway'], max: 33 } });
}
