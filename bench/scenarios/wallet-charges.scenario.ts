import { loadConfig, SERVICES, withDatabase } from '@ticketing/config';
import { createDatabase } from '@ticketing/db';
import { createInternalAuth } from '@ticketing/http';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { conservationViolations } from '../../apps/wallet/src/wallet/account.repository';
import { benchConfig } from '../lib/bench-config';
import { signIn } from '../lib/fans';
import { createMeasurement, inBatches } from '../lib/load';
import { type Check, type Scenario, type ScenarioResult } from '../lib/report';

const config = loadConfig(
  z.object({
    WALLET_URL: z.string().url().default(`http://127.0.0.1:${benchConfig.WALLET_PORT ?? SERVICES.wallet.port}`),
    /** The wallet's database, for the SQL conservation check (default: POSTGRES_URL with the wallet's database name). */
    WALLET_DATABASE_URL: z.string().url().optional(),
    BENCH_DURATION_S: z.coerce.number().min(1).default(10),
    BENCH_WALLET_USERS: z.coerce.number().int().min(1).default(1_000),
  }),
);

interface User {
  userId: string;
  /** The credentials of the route under test: `authorization` (gateway) or `x-internal-auth` (the wallet itself). */
  auth: Record<string, string>;
  /** What the wallet answered 201 for, by transaction id. */
  charged: Map<string, number>;
}
interface Pending {
  user: User;
  key: string;
  amount: number;
}


async function json(api: string, path: string, user: User, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${api}${path}`, { ...init, headers: { 'content-type': 'application/json', ...user.auth, ...(init.headers as Record<string, string>) } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** A GET, retried on a 5xx or a network error (a read is safe to repeat; an overloaded machine drops some). */
async function read(api: string, path: string, user: User): Promise<{ status: number; body: Record<string, unknown> }> {
  for (let attempt = 1; ; attempt++) {
    const res = await json(api, path, user).catch((error: Error) => ({ status: 599, body: { error: error.message } }));
    if (res.status < 500 || attempt >= 8) return res;
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
}


/**
 * A charge whose answer the run did not see (in flight when autocannon stopped, a timeout, a 5xx):
 * retried with the same Idempotency-Key and body, as a client must, until it has its answer; the
 * key guarantees the money was added at most once, and the retry tells whether it was.
 */
async function settle(api: string, p: Pending): Promise<void> {
  for (let attempt = 1; attempt <= 50; attempt++) {
    const res = await json(api, '/wallet/charges', p.user, { method: 'POST', headers: { 'idempotency-key': p.key }, body: JSON.stringify({ amount: p.amount }) });
    if (res.status === 201) {
      p.user.charged.set(res.body.transactionId as string, p.amount);
      return;
    }
    if (res.status !== 409 && res.status < 500) throw new Error(`charge ${p.key} answered ${res.status} ${JSON.stringify(res.body)} on retry`);
    await new Promise((r) => setTimeout(r, 100 * attempt));
  }
  throw new Error(`charge ${p.key} never settled`);
}

/** Every line of the user's ledger, through the gateway, following nextCursor. */
async function ledgerOf(api: string, user: User): Promise<{ transactionId: string; kind: string; amount: number }[]> {
  const lines: { transactionId: string; kind: string; amount: number }[] = [];
  let cursor: string | null = null;
  do {
    const page = await read(api, `/wallet/transactions?limit=200${cursor ? `&before=${cursor}` : ''}`, user);
    if (page.status !== 200) throw new Error(`ledger page answered ${page.status}`);
    lines.push(...(page.body.transactions as typeof lines));
    cursor = page.body.nextCursor as string | null;
  } while (cursor);
  return lines;
}

/**
 * Charges as fast as `BENCH_CONNECTIONS` connections go (autocannon), every request a new
 * Idempotency-Key, spread over BENCH_WALLET_USERS fans of its own. Afterwards each fan's balance must
 * be exactly the sum of the 201 answers they got, their ledger (paged through the same route) exactly
 * those charges, and every account in the wallet's database the sum of its ledger.
 */
async function measure(name: string, api: string, users: User[], viaGateway: boolean): Promise<ScenarioResult> {
  // One request in flight per connection, so the connection's context knows which charge answered.
  const unanswered = new Map<string, Pending>();
  const statuses = new Map<number, number>();
  let next = 0;
  const load = createMeasurement();
  const result = await load.run({
    url: `${api}/wallet/charges`,
    connections: benchConfig.BENCH_CONNECTIONS,
    duration: config.BENCH_DURATION_S,
    requests: [
      {
        method: 'POST',
        setupRequest: (req, context) => {
          const i = next++;
          const pending: Pending = { user: users[i % users.length], key: randomUUID(), amount: 1 + (i % 9_973) };
          unanswered.set(pending.key, pending);
          (context as { pending?: Pending }).pending = pending;
          return {
            ...req,
            headers: { ...req.headers, 'content-type': 'application/json', ...pending.user.auth, 'idempotency-key': pending.key },
            body: JSON.stringify({ amount: pending.amount }),
          };
        },
        onResponse: (status, body, context) => {
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          const pending = (context as { pending?: Pending }).pending;
          if (status !== 201 || !pending) return;
          pending.user.charged.set(JSON.parse(body).transactionId as string, pending.amount);
          unanswered.delete(pending.key);
        },
      },
    ],
  }).finally(() => load.close());

  const retried = unanswered.size;
  await inBatches([...unanswered.values()], 32, (p) => settle(api, p));

  let balanceMismatches = 0;
  let ledgerMismatches = 0;
  let charges = 0;
  let money = 0;
  await inBatches(users, 32, async (user) => {
    const expected = [...user.charged.values()].reduce((s, n) => s + n, 0);
    charges += user.charged.size;
    money += expected;
    const wallet = await read(api, '/wallet', user);
    if (wallet.status !== 200 || wallet.body.balance !== expected) balanceMismatches++;
    const ledger = await ledgerOf(api, user);
    const sameLines = ledger.length === user.charged.size && ledger.every((l) => l.kind === 'CHARGE' && user.charged.get(l.transactionId) === l.amount);
    if (!sameLines || ledger.reduce((s, l) => s + l.amount, 0) !== expected) ledgerMismatches++;
  });

  const db = createDatabase({ url: config.WALLET_DATABASE_URL ?? withDatabase(benchConfig.POSTGRES_URL, SERVICES.wallet.database), poolMax: 1 });
  const violations = await conservationViolations(db).finally(() => db.destroy());

  const measured = load.summary();
  const throughput = measured.throughputPerSecond;
  const fiveXx = result['5xx'];
  const checks: Check[] = [
    { name: "every fan's balance = the sum of their 201 answers", pass: balanceMismatches === 0, detail: `${users.length} fans, ${charges} charges, ${money} won; ${balanceMismatches} mismatches` },
    { name: "every fan's ledger = exactly their 201 charges", pass: ledgerMismatches === 0, detail: `${ledgerMismatches} mismatches` },
    { name: 'every account in the wallet database = the sum of its ledger (SQL)', pass: violations.length === 0, detail: `${violations.length} violations${violations.length ? `: ${JSON.stringify(violations.slice(0, 3))}` : ''}` },
    { name: 'no 5xx', pass: fiveXx === 0, detail: `statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${result.errors} errors/timeouts` },
  ];
  return {
    scenario: name,
    target: viaGateway ? '>= 2,000 charges/s' : 'none (the wallet alone, for comparison)',
    targetMet: viaGateway ? throughput >= 2_000 : true,
    ...measured,
    errors: result.errors + result.non2xx,
    checks,
    ceiling: 'express-hello',
    notes: [`${benchConfig.BENCH_CONNECTIONS} connections, ${users.length} fans; ${retried} unanswered charges settled afterwards by retrying their Idempotency-Key`],
  };
}

/**
 * `POST /wallet/charges` through the gateway of the running stack (sessions minted as POST /sessions
 * issues them: logging in is not what is measured), then the same straight at the wallet with the
 * gateway's internal credentials, which shows how much of the cost is the wallet's own.
 */
export const scenario: Scenario = {
  name: 'wallet-charges',
  description: 'POST /wallet/charges with distinct Idempotency-Keys over many fans, through the gateway and straight at the wallet; exact balances and ledgers afterwards',
  async run(): Promise<ScenarioResult[]> {
    const ready = await fetch(`${benchConfig.GATEWAY_URL}/health/live`).then((r) => r.ok, () => false);
    if (!ready) throw new Error(`no ready gateway at ${benchConfig.GATEWAY_URL}: start the stack with \`npm start\` first`);
    const internal = createInternalAuth(benchConfig.INTERNAL_AUTH_SECRET, { ttlSeconds: 300 });
    const fans = (make: () => Promise<{ userId: string; auth: Record<string, string> }>) =>
      Promise.all(Array.from({ length: config.BENCH_WALLET_USERS }, async (): Promise<User> => ({ ...(await make()), charged: new Map() })));

    const viaGateway = await fans(async () => {
      const { userId, session } = await signIn();
      return { userId, auth: { authorization: `Bearer ${session}` } };
    });
    const gateway = await measure('wallet-charges', benchConfig.api, viaGateway, true);
    const direct = await fans(async () => {
      const userId = randomUUID();
      return { userId, auth: { 'x-internal-auth': await internal.sign({ userId, access: 'user' }) } };
    });
    const wallet = await measure('wallet-charges-direct', `${config.WALLET_URL}/api/v1`, direct, false);
    return [gateway, wallet];
  },
};
