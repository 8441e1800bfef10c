import { createIdempotencyPurge, createIdempotencyStore } from '@ticketing/http';
import { randomUUID } from 'node:crypto';
import { call, charge, CHARGES, createWalletHarness, logger, type WalletHarness } from './wallet.harness';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PROBLEM = /^application\/problem\+json/;
const MAX_CHARGE = 1_000_000;

describe('wallet charges, balance and ledger (real PostgreSQL, two instances)', () => {
  let h: WalletHarness;
  beforeAll(async () => {
    h = await createWalletHarness({ maxCharge: MAX_CHARGE });
  });
  afterAll(() => h?.cleanup());

  it('a user who never charged has balance 0 and an empty ledger, and no account row is created for it', async () => {
    const userId = randomUUID();
    expect(await call(h.a.url, { userId })).toMatchObject({ status: 200, body: { balance: 0, updatedAt: null } });
    expect(await call(h.a.url, { userId, path: '/api/v1/wallet/transactions' })).toMatchObject({ status: 200, body: { transactions: [], nextCursor: null } });
    expect(await h.db('accounts').where({ user_id: userId })).toEqual([]);
  });

  it('charges → 201 {transactionId, amount, balance}; the balance and the ledger follow, newest first', async () => {
    const userId = randomUUID();
    const first = await charge(h.a.url, userId, { amount: 50_000 }, 'key-1');
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ transactionId: expect.stringMatching(UUID), amount: 50_000, balance: 50_000 });
    const second = await charge(h.b.url, userId, { amount: 7 }, 'key-2');
    expect(second.body).toMatchObject({ amount: 7, balance: 50_007 });

    const wallet = await call(h.a.url, { userId });
    expect(wallet).toMatchObject({ status: 200, body: { balance: 50_007 } });
    expect(Date.parse(wallet.body.updatedAt as string)).toBeGreaterThan(Date.now() - 60_000);
    const ledger = await call(h.b.url, { userId, path: '/api/v1/wallet/transactions' });
    expect(ledger.status).toBe(200);
    expect(ledger.body).toEqual({
      transactions: [
        { transactionId: second.body.transactionId, kind: 'CHARGE', amount: 7, balanceAfter: 50_007, paymentId: null, idempotencyKey: 'key-2', createdAt: expect.any(String) },
        { transactionId: first.body.transactionId, kind: 'CHARGE', amount: 50_000, balanceAfter: 50_000, paymentId: null, idempotencyKey: 'key-1', createdAt: expect.any(String) },
      ],
      nextCursor: null,
    });
  });

  it('pages the ledger with limit and before=nextCursor: every line exactly once, newest first', async () => {
    const userId = randomUUID();
    for (let i = 1; i <= 7; i++) expect((await charge(h.a.url, userId, { amount: i })).status).toBe(201);
    const amounts: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=3&before=${cursor}` : '?limit=3';
      const page = await call(h.a.url, { userId, path: `/api/v1/wallet/transactions${query}` });
      expect(page.status).toBe(200);
      amounts.push(...(page.body.transactions as { amount: number }[]).map((t) => t.amount));
      cursor = page.body.nextCursor as string | null;
      if (cursor !== null) expect(cursor).toMatch(/^[1-9][0-9]*$/);
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(amounts).toEqual([7, 6, 5, 4, 3, 2, 1]);

    for (const bad of ['?limit=0', '?limit=201', '?limit=abc', '?before=0', '?before=-1', '?before=abc', '?page=2']) {
      const res = await call(h.a.url, { userId, path: `/api/v1/wallet/transactions${bad}` });
      expect([bad, res.status, res.body.code]).toEqual([bad, 400, 'VALIDATION_FAILED']);
    }
  });

  it('every bad amount → 400 INVALID_AMOUNT (problem+json) and nothing changes', async () => {
    const userId = randomUUID();
    await charge(h.a.url, userId, { amount: 100 });
    const before = await h.snapshot();
    const bodies: [string, unknown][] = [
      ['a string', { amount: '100' }],
      ['a fraction', { amount: 10.5 }],
      ['zero', { amount: 0 }],
      ['a negative', { amount: -100 }],
      ['above MAX_CHARGE', { amount: MAX_CHARGE + 1 }],
      ['beyond safe integers', { amount: 2 ** 60 }],
      ['null', { amount: null }],
      ['missing', {}],
      ['missing, misspelt', { amout: 100 }],
    ];
    for (const [label, body] of bodies) {
      const res = await charge(h.a.url, userId, body);
      expect([label, res.status, res.body.code, res.body.max]).toEqual([label, 400, 'INVALID_AMOUNT', MAX_CHARGE]);
      expect(res.contentType).toMatch(PROBLEM);
    }
    const noBody = await call(h.a.url, { method: 'POST', path: CHARGES, userId, headers: { 'idempotency-key': randomUUID() } });
    expect([noBody.status, noBody.body.code]).toEqual([400, 'INVALID_AMOUNT']);
    const exponent = await call(h.a.url, { method: 'POST', path: CHARGES, userId, rawBody: '{"amount": 1e400}', headers: { 'idempotency-key': randomUUID() } });
    expect([exponent.status, exponent.body.code]).toEqual([400, 'INVALID_AMOUNT']);

    const unknownField = await charge(h.a.url, userId, { amount: 100, userId: randomUUID() });
    expect([unknownField.status, unknownField.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const malformed = await call(h.a.url, { method: 'POST', path: CHARGES, userId, rawBody: '{"amount": ', headers: { 'idempotency-key': randomUUID() } });
    expect([malformed.status, malformed.body.code]).toEqual([400, 'MALFORMED_JSON']);
    expect(await h.snapshot()).toEqual(before);

    // The largest allowed charge goes through.
    expect((await charge(h.a.url, userId, { amount: MAX_CHARGE })).body).toMatchObject({ balance: MAX_CHARGE + 100 });
  });

  it('a missing or malformed Idempotency-Key → 400 IDEMPOTENCY_KEY_REQUIRED and nothing changes', async () => {
    const userId = randomUUID();
    const before = await h.snapshot();
    const missing = await call(h.a.url, { method: 'POST', path: CHARGES, userId, body: { amount: 100 } });
    expect(missing).toMatchObject({ status: 400, body: { code: 'IDEMPOTENCY_KEY_REQUIRED' } });
    expect(missing.contentType).toMatch(PROBLEM);
    for (const key of ['has space', 'x'.repeat(256), 'tab\tkey']) {
      const res = await charge(h.a.url, userId, { amount: 100 }, key);
      expect([key.slice(0, 10), res.status, res.body.code]).toEqual([key.slice(0, 10), 400, 'IDEMPOTENCY_KEY_REQUIRED']);
    }
    expect(await h.snapshot()).toEqual(before);
  });

  it('a replay (same key, same body) answers the first 201 again on either instance and adds the money once', async () => {
    const userId = randomUUID();
    const key = randomUUID();
    const first = await charge(h.a.url, userId, { amount: 3_000 }, key);
    const again = await charge(h.b.url, userId, { amount: 3_000 }, key);
    const third = await charge(h.a.url, userId, { amount: 3_000 }, key);
    expect(first.status).toBe(201);
    expect(again).toEqual(first);
    expect(third).toEqual(first);
    expect(await h.balance(userId)).toBe(3_000);
    expect(await h.ledger(userId)).toHaveLength(1);
  });

  it('the same key with another body → 422 IDEMPOTENCY_KEY_REUSED and nothing changes; keys are per user', async () => {
    const userId = randomUUID();
    const key = randomUUID();
    await charge(h.a.url, userId, { amount: 1_000 }, key);
    const before = await h.snapshot();
    const reused = await charge(h.b.url, userId, { amount: 2_000 }, key);
    expect(reused).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    expect(reused.contentType).toMatch(PROBLEM);
    expect(await h.snapshot()).toEqual(before);

    // Another user's identical key is a different request altogether.
    const other = randomUUID();
    expect((await charge(h.a.url, other, { amount: 2_000 }, key)).body).toMatchObject({ balance: 2_000 });
    expect(await h.balance(userId)).toBe(1_000);
  });

  it('30 concurrent requests with one key on two instances → one effect; the others are 201 replays or 409 IN_FLIGHT', async () => {
    const userId = randomUUID();
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => charge(i % 2 ? h.a.url : h.b.url, userId, { amount: 500 }, key)));
    const created = answers.filter((a) => a.status === 201);
    const inFlight = answers.filter((a) => a.status === 409);
    expect(created.length + inFlight.length).toBe(30);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((a) => a.body.transactionId)).size).toBe(1);
    expect(inFlight.every((a) => a.body.code === 'IDEMPOTENCY_KEY_IN_FLIGHT')).toBe(true);
    expect(await h.balance(userId)).toBe(500);
    expect(await h.ledger(userId)).toHaveLength(1);
    // Once settled, a retry gets the answer.
    expect(await charge(h.a.url, userId, { amount: 500 }, key)).toEqual(created[0]);
  });

  it('100 concurrent charges with distinct keys on two instances → 100 × 201 and the exact sum; the ledger chains balance_after', async () => {
    const userId = randomUUID();
    const amounts = Array.from({ length: 100 }, (_, i) => 1_000 + i);
    const answers = await Promise.all(amounts.map((amount, i) => charge(i % 2 ? h.a.url : h.b.url, userId, { amount })));
    expect(answers.map((a) => a.status)).toEqual(amounts.map(() => 201));
    const total = amounts.reduce((s, n) => s + n, 0);
    expect(await h.balance(userId)).toBe(total);
    expect(Math.max(...answers.map((a) => a.body.balance as number))).toBe(total);
    expect(new Set(answers.map((a) => a.body.balance)).size).toBe(100); // each saw its own balance

    const ledger = await h.ledger(userId);
    expect(ledger).toHaveLength(100);
    let running = 0;
    for (const line of ledger) {
      running += line.amount;
      expect(line.balance_after).toBe(running);
    }
    expect((await call(h.b.url, { userId })).body.balance).toBe(total);
  });

  it('a call without the gateway credentials (direct, forged or unsigned user) → 401, and nothing changes', async () => {
    const before = await h.snapshot();
    const direct = await call(h.a.url, { method: 'POST', path: CHARGES, body: { amount: 100 }, headers: { 'idempotency-key': randomUUID() } });
    expect(direct).toMatchObject({ status: 401, body: { code: 'INTERNAL_AUTH_REQUIRED' } });
    expect(direct.contentType).toMatch(PROBLEM);
    expect((await call(h.a.url, {})).status).toBe(401);
    expect((await call(h.a.url, { path: '/api/v1/wallet/transactions', headers: { 'x-internal-auth': 'forged.token.value' } })).status).toBe(401);
    expect((await call(h.a.url, { headers: { 'x-user-id': randomUUID() } })).status).toBe(401);
    expect(await h.snapshot()).toEqual(before);
  });

  it('user B never sees or touches A’s wallet or ledger, whatever B puts in the body, path or query', async () => {
    const [alice, bob] = [randomUUID(), randomUUID()];
    await charge(h.a.url, alice, { amount: 9_000 }, 'shared-key');
    expect((await call(h.a.url, { userId: bob })).body).toEqual({ balance: 0, updatedAt: null });
    expect((await call(h.a.url, { userId: bob, path: '/api/v1/wallet/transactions' })).body).toEqual({ transactions: [], nextCursor: null });
    expect((await call(h.a.url, { userId: bob, path: `/api/v1/wallet/transactions?userId=${alice}` })).status).toBe(400);
    expect((await call(h.a.url, { userId: bob, path: `/api/v1/wallet/${alice}` })).status).toBe(404);
    // B's body naming A is refused; B's own charge with A's key is B's own.
    expect((await charge(h.a.url, bob, { amount: 1, userId: alice })).body.code).toBe('VALIDATION_FAILED');
    expect((await charge(h.a.url, bob, { amount: 9_000 }, 'shared-key')).body).toMatchObject({ balance: 9_000 });
    expect(await h.balance(alice)).toBe(9_000);
    expect((await h.ledger(alice)).map((l) => l.amount)).toEqual([9_000]);
  });

  it('the periodic purge deletes answered keys past their 48 h only (every key is answered again for at least 24 h); the ledger keeps the charge', async () => {
    const userId = randomUUID();
    const hoursOld = { 'old-key': 49, 'day-old-key': 25, 'nearly-two-days-key': 47.5, 'new-key': 0 };
    for (const [key, hours] of Object.entries(hoursOld)) {
      expect((await charge(h.a.url, userId, { amount: 10 }, key)).status).toBe(201);
      await h.db('idempotency_keys').where({ scope: userId, key }).update({ created_at: h.db.raw(`now() - make_interval(mins => ?)`, [hours * 60]) });
    }
    const purge = createIdempotencyPurge({ store: createIdempotencyStore({ db: h.a.db }), logger, intervalMs: 3_600_000 });
    purge.start(); // purges at once, then hourly
    await purge.stop();
    expect((await h.db('idempotency_keys').where({ scope: userId }).pluck('key')).sort()).toEqual(['day-old-key', 'nearly-two-days-key', 'new-key']);
    // A key a day old still answers its first charge, adding nothing.
    expect(await charge(h.b.url, userId, { amount: 10 }, 'day-old-key')).toMatchObject({ status: 201, body: { amount: 10, balance: 20 } });
    expect(await h.balance(userId)).toBe(40);
    expect((await h.ledger(userId)).map((l) => l.idempotency_key)).toEqual(Object.keys(hoursOld));
  });

  it('a retry after its key’s answer was purged adds nothing: the ledger holds one charge per key and answers it; another amount → 422', async () => {
    const userId = randomUUID();
    const key = randomUUID();
    const first = await charge(h.a.url, userId, { amount: 4_000 }, key);
    expect(first.status).toBe(201);
    await h.db('idempotency_keys').where({ scope: userId, key }).delete(); // as the retention purge does

    expect(await charge(h.b.url, userId, { amount: 4_000 }, key)).toEqual(first);
    const reused = await charge(h.a.url, userId, { amount: 5_000 }, key);
    expect([reused.status, reused.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    expect(await h.balance(userId)).toBe(4_000);
    expect((await h.ledger(userId)).map((l) => [l.kind, l.amount, l.idempotency_key])).toEqual([['CHARGE', 4_000, key]]);
    // The refused attempt gave its claim back, so the next retry is not kept waiting (409) either.
    expect(await charge(h.a.url, userId, { amount: 4_000 }, key)).toEqual(first);
  });

  it('money is conserved after everything above: every balance is the sum of its ledger', async () => {
    expect(await h.conservationViolations()).toEqual([]);
    const { rows } = await h.db.raw(`select count(*)::int as n from accounts`);
    expect(rows[0].n).toBeGreaterThan(5);
  });
});
