import { newId } from '@ticketing/db';
import { delay as sleep, waitFor } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { call, createPaymentHarness, type PaymentHarness, type PaymentInstance } from './payment.harness';

const SYNC_WAIT_MS = 10_000;
const STEP_TIMEOUT_MS = 1_500;
const STALL_AFTER_MS = 2_500;
/** The harness's default. */
const HOLD_LOOKUP_WAIT_MS = 2_000;

let h: PaymentHarness;
let a: PaymentInstance;
let b: PaymentInstance;

beforeAll(async () => {
  h = await createPaymentHarness({ syncWaitMs: SYNC_WAIT_MS, stepTimeoutMs: STEP_TIMEOUT_MS, stallAfterMs: STALL_AFTER_MS });
  a = await h.startInstance();
  b = await h.startInstance();
  await h.settled(2);
});
afterAll(() => h?.cleanup());
afterEach(() => {
  h.responders.wallet = () => 'debit';
  h.responders.reservation = () => 'confirm';
  h.responders.refunds = () => 'refund';
});

const pay = (userId: string, reservationId: string, key = randomUUID(), url = a.url) =>
  call(url, { method: 'POST', path: '/payments', userId, key, body: { reservationId } });

describe('checkout saga over real Kafka and PostgreSQL', () => {
  it('debits, confirms and answers 201 COMPLETED; payment.completed is emitted once', async () => {
    const userId = randomUUID();
    const reservationId = await h.hold(userId, { price: 77_000 });
    const res = await pay(userId, reservationId);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ reservationId, status: 'COMPLETED', amount: 77_000, failureReason: null, refunded: false, stalled: false });
    const paymentId = res.body.paymentId as string;
    expect(res.location).toBe(`/api/v1/payments/${paymentId}`);
    await waitFor(() => h.outcomesOf(paymentId).length === 1 || undefined);
    expect(h.outcomesOf(paymentId)[0]).toMatchObject({ type: 'payment.completed', payload: { paymentId, userId, reservationId, amount: 77_000 } });
    expect(h.commandsOf('wallet.debit-requested', paymentId)[0].payload).toEqual({ paymentId, userId, amount: 77_000 });
    expect(h.commandsOf('wallet.refund-requested', paymentId)).toHaveLength(0);

    const got = await call(b.url, { path: `/payments/${paymentId}`, userId, access: 'user' });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
  });

  it('answers 402 INSUFFICIENT_BALANCE when the wallet refuses, and never asks for the seat', async () => {
    h.responders.wallet = () => 'reject';
    const userId = randomUUID();
    const reservationId = await h.hold(userId);
    const res = await pay(userId, reservationId);
    expect(res.status).toBe(402);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'INSUFFICIENT_BALANCE', status: 402, payment: { status: 'FAILED', failureReason: 'INSUFFICIENT_BALANCE', refunded: false } });
    const paymentId = res.body.paymentId as string;
    await waitFor(() => h.outcomesOf(paymentId).length === 1 || undefined);
    expect(h.outcomesOf(paymentId)[0]).toMatchObject({ type: 'payment.failed', payload: { reason: 'INSUFFICIENT_BALANCE' } });
    expect(h.commandsOf('reservation.confirm-requested', paymentId)).toHaveLength(0);

    // After charging, the user pays again with a new key: a FAILED payment does not block the hold.
    h.responders.wallet = () => 'debit';
    const again = await pay(userId, reservationId);
    expect(again.status).toBe(201);
  });

  it('compensates when the seat cannot be confirmed: refund, FAILED, 409 HOLD_EXPIRED with refunded: true', async () => {
    h.responders.reservation = () => 'HOLD_EXPIRED';
    const userId = randomUUID();
    const reservationId = await h.hold(userId, { price: 50_000 });
    const res = await pay(userId, reservationId);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'HOLD_EXPIRED', payment: { status: 'FAILED', failureReason: 'HOLD_EXPIRED', refunded: true, amount: 50_000 } });
    const paymentId = res.body.paymentId as string;
    expect(h.commandsOf('wallet.refund-requested', paymentId).map((c) => c.payload)).toEqual([{ paymentId, userId, amount: 50_000 }]);
    await waitFor(() => h.outcomesOf(paymentId).length === 1 || undefined);
    expect(h.outcomesOf(paymentId)[0]).toMatchObject({ type: 'payment.failed', payload: { reason: 'HOLD_EXPIRED' } });
  });

  it('answers 202 when the saga outlasts the wait, re-sends an unanswered command, reports the stall, and finishes when the wallet is back', async () => {
    h.responders.wallet = () => 'silent'; // the wallet is down
    const userId = randomUUID();
    const reservationId = await h.hold(userId);
    // While the request waits, watch the payment's view: `stalled` must say exactly whether the
    // step has waited longer than the stall time, judged by when each read was sent and answered.
    const views: { sentAt: number; answeredAt: number; stalled: unknown }[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const row = await h.db('payments').where({ reservation_id: reservationId }).first();
        if (row) {
          const sentAt = Date.now();
          const view = await call(a.url, { path: `/payments/${row.id}`, userId, access: 'user' });
          views.push({ sentAt, answeredAt: Date.now(), stalled: view.body.stalled });
        }
        await sleep(100);
      }
    })();
    const askedAt = Date.now();
    const res = await pay(userId, reservationId);
    const answeredAfterMs = Date.now() - askedAt;
    watching = false;
    await watcher;
    expect(res.status).toBe(202);
    // After the whole sync wait, not before, and not much after.
    expect(answeredAfterMs).toBeGreaterThanOrEqual(SYNC_WAIT_MS - 5);
    expect(answeredAfterMs).toBeLessThan(SYNC_WAIT_MS + 2_000);
    expect(res.body).toMatchObject({ status: 'STARTED' });
    const paymentId = res.body.paymentId as string;
    expect(res.location).toBe(`/api/v1/payments/${paymentId}`);

    const row = await h.payment(paymentId);
    const stepStartedAt = row.step_started_at.getTime();
    const wrong = views.filter((v) => (v.stalled === true ? v.answeredAt - stepStartedAt < STALL_AFTER_MS : v.sentAt - stepStartedAt > STALL_AFTER_MS + 5));
    expect(wrong).toEqual([]);
    expect(views.some((v) => v.stalled === false) && views.some((v) => v.stalled === true)).toBe(true);

    // Sent again no sooner than the step timeout after the first send, then after twice that (±20%
    // jitter): the backoff doubles. Neither much later.
    const sent = await waitFor(() => (h.commandsOf('wallet.debit-requested', paymentId).length >= 3 ? h.commandsOf('wallet.debit-requested', paymentId) : undefined), { timeoutMs: 10_000 });
    const [first, second, third] = sent.map((c) => Date.parse(c.occurredAt));
    expect(second - first).toBeGreaterThanOrEqual(STEP_TIMEOUT_MS - 50);
    expect(second - first).toBeLessThan(STEP_TIMEOUT_MS + 1_500);
    expect(third - second).toBeGreaterThanOrEqual(2 * STEP_TIMEOUT_MS * 0.8 - 50);
    expect(third - second).toBeLessThan(2 * STEP_TIMEOUT_MS * 1.2 + 1_500);
    const stalled = await waitFor(
      async () => {
        const view = await call(a.url, { path: `/payments/${paymentId}`, userId, access: 'user' });
        return view.body.stalled === true ? view : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(stalled.body.status).toBe('STARTED');
    // Either instance's retrier may re-send (they share overdue steps with SKIP LOCKED), so the count
    // is in one of the two registries; the stalled gauge is read from the database by each.
    const retried = /^payment_saga_command_retries_total\{[^}]*command="wallet.debit-requested"[^}]*\} [1-9]/m;
    const metricsOf = (url: string) => fetch(url.replace('/api/v1', '/metrics')).then((r) => r.text());
    const both = await waitFor(
      async () => {
        const texts = await Promise.all([metricsOf(a.url), metricsOf(b.url)]);
        return texts.some((t) => retried.test(t)) ? texts : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(both[0]).toMatch(/^payment_sagas_stalled\{[^}]*\} [1-9]/m);
    expect(both.join('\n')).toMatch(retried);

    h.responders.wallet = () => 'debit'; // the wallet is back: the next re-send is answered
    const done = await waitFor(
      async () => {
        const view = await call(b.url, { path: `/payments/${paymentId}`, userId, access: 'user' });
        return view.body.status === 'COMPLETED' ? view : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(done.body.stalled).toBe(false);
    // Every re-sent debit request was for the same payment: the wallet decides once per payment.
    expect(new Set(h.commandsOf('wallet.debit-requested', paymentId).map((c) => c.id)).size).toBe(h.commandsOf('wallet.debit-requested', paymentId).length);
  });

  it('ignores duplicate and late replies, and never applies one that contradicts the state', async () => {
    const userId = randomUUID();
    const reservationId = await h.hold(userId);
    const res = await pay(userId, reservationId);
    expect(res.status).toBe(201);
    const paymentId = res.body.paymentId as string;
    const before = await h.payment(paymentId);
    await h.publish('wallet.debited', paymentId, { paymentId, userId, amount: before.amount, balance: 0 });
    await h.publish('reservation.confirm-rejected', paymentId, { paymentId, reservationId, reason: 'HOLD_EXPIRED' });
    await h.publish('wallet.refunded', paymentId, { paymentId, userId, amount: before.amount, balance: 0 });
    await waitFor(async () => {
      const text = await fetch(a.url.replace('/api/v1', '/metrics')).then((r) => r.text());
      const text2 = await fetch(b.url.replace('/api/v1', '/metrics')).then((r) => r.text());
      const sum = (t: string) => [...t.matchAll(/^payment_saga_contradictions_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
      return sum(text) + sum(text2) >= 2 || undefined;
    });
    const after = await h.payment(paymentId);
    expect(after).toMatchObject({ status: 'COMPLETED', refunded: false, failure_reason: null });
    expect(h.commandsOf('wallet.refund-requested', paymentId)).toHaveLength(0);
    expect(h.outcomesOf(paymentId).map((o) => o.type)).toEqual(['payment.completed']);
  });

  it('finishes 40 concurrent checkouts split over two instances, each answered with its outcome', async () => {
    h.responders.wallet = (p) => (p.amount % 2 === 0 ? 'debit' : 'reject');
    const users = Array.from({ length: 40 }, (_, i) => ({ userId: randomUUID(), price: 10_000 + i }));
    const holds = await Promise.all(users.map((u) => h.hold(u.userId, { price: u.price })));
    const answers = await Promise.all(users.map((u, i) => pay(u.userId, holds[i], randomUUID(), i % 2 ? a.url : b.url)));
    // A busy machine may outlast the synchronous wait: a 202 is then followed to its end.
    const finals = await Promise.all(
      answers.map(async (res, i) => {
        if (res.status !== 202) return res.status;
        const paymentId = res.body.paymentId as string;
        const view = await waitFor(async () => {
          const got = await call(a.url, { path: `/payments/${paymentId}`, userId: users[i].userId, access: 'user' });
          return ['COMPLETED', 'FAILED'].includes(got.body.status as string) ? got.body : undefined;
        }, { timeoutMs: 30_000 });
        return view.status === 'COMPLETED' ? 201 : 402;
      }),
    );
    expect(finals).toEqual(users.map((u) => (u.price % 2 === 0 ? 201 : 402)));
  });
});

describe('Idempotency-Key and one payment per hold', () => {
  it('a repeated POST with the same key returns the same payment; the saga ran once', async () => {
    const userId = randomUUID();
    const reservationId = await h.hold(userId);
    const key = randomUUID();
    const first = await pay(userId, reservationId, key);
    const second = await pay(userId, reservationId, key, b.url);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.paymentId).toBe(first.body.paymentId);
    expect(await h.db('payments').where({ reservation_id: reservationId }).count('* as n').first()).toEqual({ n: 1 });
  });

  it('10 concurrent POSTs with one key make one payment; the others wait their turn (409 in flight) or get the same answer', async () => {
    const userId = randomUUID();
    const reservationId = await h.hold(userId);
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => pay(userId, reservationId, key, i % 2 ? a.url : b.url)));
    for (const res of answers) expect([201, 409]).toContain(res.status);
    answers.filter((r) => r.status === 409).forEach((r) => expect(r.body.code).toBe('IDEMPOTENCY_KEY_IN_FLIGHT'));
    expect(new Set(answers.filter((r) => r.status === 201).map((r) => r.body.paymentId)).size).toBe(1);
    expect(await h.db('payments').where({ reservation_id: reservationId }).count('* as n').first()).toEqual({ n: 1 });
  });

  it('two keys for the same hold: one payment, the other 409 DUPLICATE_PAYMENT', async () => {
    const userId = randomUUID();
    const reservationId = await h.hold(userId);
    const answers = await Promise.all([pay(userId, reservationId, randomUUID(), a.url), pay(userId, reservationId, randomUUID(), b.url)]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    const refused = answers.find((r) => r.status === 409)!;
    const won = answers.find((r) => r.status === 201)!;
    expect(refused.body).toMatchObject({ code: 'DUPLICATE_PAYMENT', paymentId: won.body.paymentId });
    expect(await h.db('payments').where({ reservation_id: reservationId }).count('* as n').first()).toEqual({ n: 1 });
    // Paying again for a sold seat is refused the same way.
    expect((await pay(userId, reservationId)).body.code).toBe('DUPLICATE_PAYMENT');
  });

  it('the same key with another body is 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const userId = randomUUID();
    const key = randomUUID();
    const first = await pay(userId, await h.hold(userId), key);
    expect(first.status).toBe(201);
    const other = await pay(userId, await h.hold(userId), key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });
});

describe('bad requests change nothing', () => {
  const paymentsCount = async () => Number((await h.db('payments').count('* as n').first())!.n);

  it.each([
    ['no Idempotency-Key', 400, 'IDEMPOTENCY_KEY_REQUIRED', { key: undefined }],
    ['a malformed key', 400, 'IDEMPOTENCY_KEY_REQUIRED', { key: 'has space' }],
    ['a malformed reservation id', 400, 'VALIDATION_FAILED', { body: { reservationId: 'nope' } }],
    ['an extra field', 400, 'VALIDATION_FAILED', { body: { reservationId: randomUUID(), userId: randomUUID() } }],
    ['an unknown reservation', 404, 'NOT_FOUND', { body: { reservationId: randomUUID() } }],
  ])('%s → %i %s', async (_name, status, code, override) => {
    const before = await paymentsCount();
    const res = await call(a.url, { method: 'POST', path: '/payments', userId: randomUUID(), key: randomUUID(), body: { reservationId: randomUUID() }, ...override });
    expect(res.status).toBe(status);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body.code).toBe(code);
    expect(await paymentsCount()).toBe(before);
  });

  it('a hold made moments ago that has not arrived yet is 503 HOLD_NOT_YET_KNOWN with Retry-After, not 404; paid once it arrives', async () => {
    const userId = randomUUID();
    // The reservation service mints version 7 ids: this one was made just now, its event not yet sent.
    const reservationId = newId();
    const key = randomUUID();
    const before = await paymentsCount();
    const askedAt = Date.now();
    const early = await pay(userId, reservationId, key);
    // It waited the hold lookup time for the hold (2 s in the harness), and no longer than that.
    expect(Date.now() - askedAt).toBeGreaterThanOrEqual(HOLD_LOOKUP_WAIT_MS - 5);
    expect(Date.now() - askedAt).toBeLessThan(HOLD_LOOKUP_WAIT_MS + 1_500);
    expect([early.status, early.body.code, early.retryAfter]).toEqual([503, 'HOLD_NOT_YET_KNOWN', '1']);
    expect(early.contentType).toContain('application/problem+json');
    expect(await paymentsCount()).toBe(before);
    expect(await h.db('idempotency_keys').where({ key }).first()).toBeUndefined();

    await h.hold(userId, { reservationId, price: 5_000 });
    const paid = await pay(userId, reservationId, key);
    expect([paid.status, paid.body.status, paid.body.amount]).toEqual([201, 'COMPLETED', 5_000]);
  });

  it('an unknown reservation id made more than 10 minutes ago, or not a v7 id, stays 404 NOT_FOUND; one made 9 minutes ago is still 503', async () => {
    const userId = randomUUID();
    const madeAgo = (ms: number) => `${(Date.now() - ms).toString(16).padStart(12, '0').replace(/^(.{8})(.{4})$/, '$1-$2')}-7000-8000-000000000000`;
    for (const reservationId of [madeAgo(3_600_000), madeAgo(11 * 60_000), randomUUID()]) {
      const res = await pay(userId, reservationId);
      expect([res.status, res.body.code, res.retryAfter]).toEqual([404, 'NOT_FOUND', null]);
    }
    const recent = await pay(userId, madeAgo(9 * 60_000));
    expect([recent.status, recent.body.code]).toEqual([503, 'HOLD_NOT_YET_KNOWN']);
  });

  it('an expired or cancelled hold is 409 HOLD_EXPIRED without starting a saga; the key can be used again', async () => {
    const userId = randomUUID();
    const reservationId = await h.hold(userId, { ttlMs: 300 });
    await waitFor(async () => (await h.db('payable_holds').where({ reservation_id: reservationId }).first()) ?? undefined);
    await new Promise((r) => setTimeout(r, 400));
    const before = await paymentsCount();
    const key = randomUUID();
    const res = await pay(userId, reservationId, key);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'HOLD_EXPIRED', reservationStatus: 'EXPIRED' });
    expect(await paymentsCount()).toBe(before);
    expect(await h.db('idempotency_keys').where({ key }).first()).toBeUndefined();
  });

  it('nobody pays for, or reads, another user\'s hold or payment', async () => {
    const owner = randomUUID();
    const intruder = randomUUID();
    const reservationId = await h.hold(owner);
    const refused = await pay(intruder, reservationId);
    expect(refused.status).toBe(404);
    const paid = await pay(owner, reservationId);
    expect(paid.status).toBe(201);
    const read = await call(a.url, { path: `/payments/${paid.body.paymentId}`, userId: intruder, access: 'user' });
    expect(read.status).toBe(404);
    expect(JSON.stringify(read.body)).not.toContain(reservationId);
  });

  it('refuses unsigned calls (401) and users who are not admitted (403)', async () => {
    const unsigned = await call(a.url, { method: 'POST', path: '/payments', key: randomUUID(), body: { reservationId: randomUUID() } });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.code).toBe('INTERNAL_AUTH_REQUIRED');
    const notAdmitted = await call(a.url, { method: 'POST', path: '/payments', userId: randomUUID(), access: 'user', key: randomUUID(), body: { reservationId: randomUUID() } });
    expect(notAdmitted.status).toBe(403);
    expect((await call(a.url, { path: '/payments/not-a-uuid', userId: randomUUID(), access: 'user' })).status).toBe(400);
  });
});
