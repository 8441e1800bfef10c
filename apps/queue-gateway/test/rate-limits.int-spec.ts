import { newId } from '@ticketing/db';
import { startPrivateRedis, uniqueName, type PrivateRedis } from '@ticketing/testing';
import { createPasswordHasher, legacyScryptHash } from '../src/users/password-hasher';
import { USERS_TABLE } from '../src/users/user.repository';
import { call, createGatewayHarness, type Answer, type GatewayHarness } from './gateway.harness';

/**
 * The gateway's request limits on real Redis, counted across two gateway instances that share it
 * (every burst below goes half to each). Each test speaks from source addresses of its own
 * (127.0.0.x over the loopback), so the per-address limits of one test do not touch another's.
 */

jest.setTimeout(60_000);

const LIMITS = {
  RATE_LIMIT_IP_REQUESTS: 150,
  RATE_LIMIT_IP_WINDOW_SECONDS: 600,
  RATE_LIMIT_USER_REQUESTS: 10,
  RATE_LIMIT_USER_WINDOW_SECONDS: 600,
  RATE_LIMIT_QUEUE_ENTRIES: 4,
  RATE_LIMIT_QUEUE_ENTRY_WINDOW_SECONDS: 600,
  RATE_LIMIT_SIGNUPS: 5,
  RATE_LIMIT_SIGNUP_WINDOW_SECONDS: 3_600,
  RATE_LIMIT_LOGIN_FAILURES_PER_IP: 80,
  RATE_LIMIT_LOGIN_FAILURES_PER_IP_WINDOW_SECONDS: 900,
  RATE_LIMIT_LOGIN_FAILURES: 5,
  RATE_LIMIT_LOGIN_BLOCK_SECONDS: 1,
  RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS: 4,
  RATE_LIMIT_LOGIN_FAILURE_MEMORY_SECONDS: 3_600,
};

const PASSWORD = 'the right password';
const hasher = createPasswordHasher();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const statuses = (answers: Answer[]) => answers.map((a) => a.status).sort();
const count = (answers: Answer[], status: number) => answers.filter((a) => a.status === status).length;

/** Every refusal is 429 RATE_LIMITED problem+json naming the limit, with a Retry-After of 1..`maxSeconds`. */
function expectRefusals(answers: Answer[], limit: string, maxSeconds: number): void {
  const refused = answers.filter((a) => a.status === 429);
  expect(refused.length).toBeGreaterThan(0);
  for (const answer of refused) {
    expect(answer.body).toMatchObject({ status: 429, code: 'RATE_LIMITED', title: 'Too Many Requests', limit });
    expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(answer.retryAfter)).toBeLessThanOrEqual(maxSeconds);
  }
}

describe('request limits across two gateway instances (real Redis)', () => {
  let h: GatewayHarness;
  const urls = () => [h.a.url, h.b.url];
  /** The i-th request's gateway: half go to each instance. */
  const to = (i: number) => urls()[i % 2];

  beforeAll(async () => {
    h = await createGatewayHarness({ rateLimits: LIMITS });
  });
  afterAll(() => h?.cleanup());

  async function signUp(email: string, from: string, url = h.a.url): Promise<Answer> {
    return call(`${url}/users`, { method: 'POST', from, body: { email, name: 'Fan', password: PASSWORD } });
  }
  const logIn = (email: string, password: string, from: string, url = h.a.url) => call(`${url}/sessions`, { method: 'POST', from, body: { email, password } });
  /** An account made straight in the database (sign-ups have a limit of their own). */
  async function account(passwordHash?: string): Promise<string> {
    const email = `${uniqueName('fan')}@example.com`;
    await h.db(USERS_TABLE).insert({ id: newId(), email, name: 'Fan', password_hash: passwordHash ?? (await hasher.hash(PASSWORD)) });
    return email;
  }

  it('every route per address: the limit passes, the rest get 429 with Retry-After, another address is served, and X-Forwarded-For changes nothing', async () => {
    const from = '127.0.0.11';
    // The gateway's own OpenAPI document: answered without an upstream, which a burst like this would time out.
    const docs = (url: string) => url.replace('/api/v1', '/api/docs/openapi.json');
    const answers = await Promise.all(Array.from({ length: 170 }, (_, i) => call(docs(to(i)), { from })));
    expect(count(answers, 200)).toBe(150);
    expect(count(answers, 429)).toBe(20);
    expectRefusals(answers, 'address', 600);
    // Naming another client in X-Forwarded-For does not help: the gateway trusts no proxy by default.
    const spoofed = await call(docs(h.b.url), { from, headers: { 'x-forwarded-for': '198.51.100.7' } });
    expect(spoofed.status).toBe(429);
    // Every route counts: a forwarded one too.
    expect((await call(`${h.a.url}/concerts`, { from })).status).toBe(429);
    expect((await call(`${h.a.url}/concerts`, { from: '127.0.0.12' })).status).toBe(200);
    // /health/live is never limited.
    expect((await call(h.a.url.replace('/api/v1', '/health/live'), { from })).status).toBe(200);
    // Each refusal is counted on its instance's metrics (operations port): 20 + the two above.
    const refusals = async (opsPort: number | undefined) => {
      const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
      return Number(/^gateway_rate_limited_total\{limit="address"[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    expect((await refusals(h.a.opsPort)) + (await refusals(h.b.opsPort))).toBe(22);
  });

  it('every route per fan: the limit passes over both instances, the rest get 429, and another fan is served', async () => {
    const [greedy, other] = [await h.fan(), await h.fan()];
    const from = '127.0.0.13';
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => call(`${to(i)}/concerts/${newId()}/schedules`, { from, session: greedy.session })));
    expect(statuses(answers)).toEqual([...Array(10).fill(200), ...Array(6).fill(429)]);
    expectRefusals(answers, 'user', 600);
    expect((await call(`${h.b.url}/concerts/${newId()}/schedules`, { from, session: other.session })).status).toBe(200);
  });

  it('queue entry per fan: entering and leaving each take a step; past the limit re-entering is 429 while another fan enters', async () => {
    const fan = await h.fan();
    const from = '127.0.0.14';
    const enter = (url: string, session: string) => call(`${url}/queue/tokens`, { method: 'POST', from, session, body: { concertId: h.concertId } });
    const first = await enter(h.a.url, fan.session);
    expect(first.status).toBe(201);
    expect((await call(`${h.b.url}/queue/tokens/me`, { method: 'DELETE', from, session: fan.session, queueToken: first.body.queueToken as string })).status).toBe(204);
    const second = await enter(h.b.url, fan.session);
    expect(second.status).toBe(201);
    expect(second.body.queueToken).not.toBe(first.body.queueToken);
    expect((await call(`${h.a.url}/queue/tokens/me`, { method: 'DELETE', from, session: fan.session, queueToken: second.body.queueToken as string })).status).toBe(204);

    const refused = await Promise.all([0, 1].map((i) => enter(to(i), fan.session)));
    expect(statuses(refused)).toEqual([429, 429]);
    expectRefusals(refused, 'queue-entry', 600);
    expect((await enter(h.a.url, (await h.fan()).session)).status).toBe(201);
  });

  it('sign-up per address: a flood gets 429 after the limit, EMAIL_TAKEN answers included, while another address signs up', async () => {
    const from = '127.0.0.15';
    const taken = `${uniqueName('taken')}@example.com`;
    expect((await signUp(taken, from, h.a.url)).status).toBe(201);
    const flood = await Promise.all(
      Array.from({ length: 10 }, (_, i) => signUp(i % 3 === 0 ? taken : `${uniqueName('flood')}@example.com`, from, to(i))),
    );
    // 4 of the 5 sign-ups were left: whatever they answered (201 or 409 EMAIL_TAKEN), the other 6 are 429.
    expect(count(flood, 429)).toBe(6);
    expect(count(flood, 201) + count(flood, 409)).toBe(4);
    expectRefusals(flood, 'sign-up', 3_600);
    // Past the limit a taken address is not told apart from a new one.
    expect((await signUp(taken, from, h.b.url)).status).toBe(429);
    expect((await signUp(`${uniqueName('elsewhere')}@example.com`, '127.0.0.16', h.b.url)).status).toBe(201);
  });

  it('60 wrong passwords for one account in a burst: 401 up to the limit, then 429, while another account logs in from another address', async () => {
    const [victim, bystander] = [await account(), await account()];
    const from = '127.0.0.17';
    const burst = Promise.all(Array.from({ length: 60 }, (_, i) => logIn(victim, `wrong password ${i}`, from, to(i))));
    const meanwhile = logIn(bystander, PASSWORD, '127.0.0.18', h.b.url);
    const answers = await burst;
    expect(count(answers, 401)).toBe(5);
    expect(count(answers, 429)).toBe(55);
    // Each refusal says how long the block lasts, never the hour the failures are remembered for.
    expectRefusals(answers, 'log-in', 4);
    expect((await meanwhile).status).toBe(200);
  });

  it('never locks an account out for good: blocks grow, the right password works once a block lapses, and a success starts afresh', async () => {
    const email = await account();
    const from = '127.0.0.19';
    const wrong = async (n: number, url = h.a.url) => {
      const answers: Answer[] = [];
      for (let i = 0; i < n; i++) answers.push(await logIn(email, 'not it at all', from, i % 2 ? h.b.url : url));
      return answers;
    };
    expect(statuses(await wrong(5))).toEqual(Array(5).fill(401));
    const firstBlock = await logIn(email, 'not it at all', from, h.b.url);
    expect({ status: firstBlock.status, retryAfter: firstBlock.retryAfter }).toEqual({ status: 429, retryAfter: '1' });
    await sleep(Number(firstBlock.retryAfter) * 1_000 + 100);

    // The second block of the same email and address is twice as long, and holds for the right password too.
    expect(statuses(await wrong(5))).toEqual(Array(5).fill(401));
    const secondBlock = await logIn(email, PASSWORD, from, h.a.url);
    expect({ status: secondBlock.status, retryAfter: secondBlock.retryAfter }).toEqual({ status: 429, retryAfter: '2' });
    await sleep(Number(secondBlock.retryAfter) * 1_000 + 100);
    expect((await logIn(email, PASSWORD, from, h.b.url)).status).toBe(200);

    // The success forgot the failures and the blocks: five free failures again, then the first block's length.
    expect(statuses(await wrong(5))).toEqual(Array(5).fill(401));
    expect((await logIn(email, 'not it at all', from)).retryAfter).toBe('1');
  });

  it('failed log-ins per address: guessing over many accounts from one address gets 429, a success gives its attempt back, other addresses are served', async () => {
    const from = '127.0.0.20';
    const mine = await account();
    // Successes cost the address nothing: 10 right passwords first, then the 80 failures still pass.
    for (let i = 0; i < 10; i++) expect((await logIn(mine, PASSWORD, from, to(i))).status).toBe(200);
    const guesses = await Promise.all(Array.from({ length: 80 }, (_, i) => logIn(`${uniqueName('nobody')}@example.com`, 'guess', from, to(i))));
    expect(statuses(guesses)).toEqual(Array(80).fill(401));
    const refused = await Promise.all([0, 1].map((i) => logIn(mine, PASSWORD, from, to(i))));
    expect(statuses(refused)).toEqual([429, 429]);
    expectRefusals(refused, 'log-in-address', 900);
    expect((await logIn(mine, PASSWORD, '127.0.0.21')).status).toBe(200);
  });

  it('a fan with an old scrypt hash logs in, and the stored hash becomes argon2id at the configured cost', async () => {
    const email = await account(await legacyScryptHash(PASSWORD));
    const stored = async () => (await h.db(USERS_TABLE).where({ email }).first<{ password_hash: string }>())!.password_hash;
    expect(await stored()).toMatch(/^scrypt\$32768\$8\$3\$/);
    const from = '127.0.0.22';

    expect((await logIn(email, 'not the password', from)).status).toBe(401);
    expect(await stored()).toMatch(/^scrypt\$/);
    const first = await logIn(email, PASSWORD, from, h.b.url);
    expect(first.status).toBe(200);
    const upgraded = await stored();
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    // The new hash verifies, and is not replaced again.
    expect((await logIn(email, PASSWORD, from, h.a.url)).status).toBe(200);
    expect(await stored()).toBe(upgraded);
    expect((await logIn(email, 'not the password', from)).status).toBe(401);
  });
});

describe('request limits while their Redis is unreachable (a private redis-server, stopped)', () => {
  let redis: PrivateRedis;
  let h: GatewayHarness;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    h = await createGatewayHarness({ redisUrl: redis.url, rateLimits: { ...LIMITS, RATE_LIMIT_IP_REQUESTS: 5 } });
  });
  afterAll(async () => {
    await redis?.start().catch(() => undefined);
    await h?.cleanup();
    await redis?.stop();
  });

  it('sign-up and log-in answer 503 with Retry-After; per-route limits are counted in each process instead, so routes that need no Redis still answer', async () => {
    await redis.kill();
    const from = '127.0.0.31';
    const signUp = await call(`${h.a.url}/users`, { method: 'POST', from, body: { email: `${uniqueName('down')}@example.com`, name: 'Fan', password: PASSWORD } });
    const logIn = await call(`${h.b.url}/sessions`, { method: 'POST', from: '127.0.0.32', body: { email: 'fan@example.com', password: PASSWORD } });
    for (const answer of [signUp, logIn]) {
      expect({ status: answer.status, code: answer.body.code, retryAfter: answer.retryAfter }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE', retryAfter: '2' });
    }
    // A forwarded public route needs no Redis: served, under a per-process limit of the same size.
    const onA = await Promise.all(Array.from({ length: 7 }, () => call(`${h.a.url}/concerts`, { from: '127.0.0.33' })));
    expect(statuses(onA)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect((await call(`${h.b.url}/concerts`, { from: '127.0.0.33' })).status).toBe(200);
  });
});

describe('request limits behind a trusted proxy (TRUST_PROXY=loopback)', () => {
  let h: GatewayHarness;

  beforeAll(async () => {
    h = await createGatewayHarness({ trustProxy: 'loopback', rateLimits: { ...LIMITS, RATE_LIMIT_SIGNUPS: 2 } });
  });
  afterAll(() => h?.cleanup());

  it('takes the client from X-Forwarded-For sent by the trusted hop, so clients behind one proxy have limits of their own', async () => {
    const signUp = (client: string, url: string) =>
      call(`${url}/users`, { method: 'POST', headers: { 'x-forwarded-for': client }, body: { email: `${uniqueName('proxied')}@example.com`, name: 'Fan', password: PASSWORD } });
    const first = await Promise.all([signUp('198.51.100.1', h.a.url), signUp('198.51.100.1', h.b.url), signUp('198.51.100.1', h.a.url)]);
    expect(statuses(first)).toEqual([201, 201, 429]);
    // Another client of the same proxy, and one whose proxy chain ends in it, each still sign up.
    expect((await signUp('198.51.100.2', h.b.url)).status).toBe(201);
    expect((await signUp('203.0.113.9, 198.51.100.3', h.a.url)).status).toBe(201);
  });
});
