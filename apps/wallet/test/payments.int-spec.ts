import { NonRetriableError, encodeEvent } from '@ticketing/messaging';
import { readTopic } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { charge, createWalletHarness, type WalletHarness } from './wallet.harness';

const debitRequest = (payload: { paymentId: string; userId: string; amount: number }) => encodeEvent({ type: 'wallet.debit-requested', key: payload.paymentId, payload });
const refundRequest = (payload: { paymentId: string; userId: string; amount: number }) => encodeEvent({ type: 'wallet.refund-requested', key: payload.paymentId, payload });

async function funded(h: WalletHarness, amount: number): Promise<string> {
  const userId = randomUUID();
  expect((await charge(h.a.url, userId, { amount })).status).toBe(201);
  return userId;
}

describe('wallet debits and refunds for the checkout saga (real PostgreSQL and Kafka)', () => {
  let h: WalletHarness;
  beforeAll(async () => {
    h = await createWalletHarness();
    await h.startMessaging();
  });
  afterAll(() => h?.cleanup());

  describe('applied as the consumer applies them (two pools, concurrent transactions)', () => {
    it('a covered debit takes the money: ledger DEBIT, decision APPLIED, wallet.debited keyed by the payment', async () => {
      const userId = await funded(h, 10_000);
      const paymentId = randomUUID();
      const request = await h.debit({ paymentId, userId, amount: 4_000 });

      expect(await h.balance(userId)).toBe(6_000);
      expect((await h.ledger(userId)).map((l) => [l.kind, l.amount, l.balance_after, l.payment_id])).toEqual([
        ['CHARGE', 10_000, 10_000, null],
        ['DEBIT', 4_000, 6_000, paymentId],
      ]);
      expect(await h.decisions(paymentId)).toEqual([expect.objectContaining({ op: 'DEBIT', outcome: 'APPLIED', user_id: userId, amount: 4_000, balance: 6_000 })]);
      expect((await h.events('wallet.debited')).filter((e) => e.key === paymentId)).toEqual([
        { key: paymentId, payload: { paymentId, userId, amount: 4_000, balance: 6_000 }, causationId: request.id },
      ]);
    });

    it('an uncovered debit is rejected (INSUFFICIENT_BALANCE) and changes no balance; a user without an account gets no row', async () => {
      const userId = await funded(h, 999);
      const paymentId = randomUUID();
      const before = await h.ledger(userId);
      await h.debit({ paymentId, userId, amount: 1_000 });
      expect(await h.balance(userId)).toBe(999);
      expect(await h.ledger(userId)).toEqual(before);
      expect(await h.decisions(paymentId)).toEqual([expect.objectContaining({ op: 'DEBIT', outcome: 'REJECTED', amount: 1_000, balance: 999 })]);
      expect((await h.events('wallet.debit-rejected')).filter((e) => e.key === paymentId).map((e) => e.payload)).toEqual([
        { paymentId, userId, amount: 1_000, reason: 'INSUFFICIENT_BALANCE' },
      ]);

      const stranger = randomUUID();
      const strangerPayment = randomUUID();
      await h.debit({ paymentId: strangerPayment, userId: stranger, amount: 1 });
      expect(await h.db('accounts').where({ user_id: stranger })).toEqual([]);
      expect((await h.events('wallet.debit-rejected')).find((e) => e.key === strangerPayment)?.payload).toMatchObject({ reason: 'INSUFFICIENT_BALANCE' });
    });

    it('a decision never flips: a rejection stays rejected after money arrives, a debit stays debited after the money is gone', async () => {
      const poor = await funded(h, 100);
      const rejectedPayment = randomUUID();
      await h.debit({ paymentId: rejectedPayment, userId: poor, amount: 500 });
      await charge(h.a.url, poor, { amount: 1_000 });
      await h.debit({ paymentId: rejectedPayment, userId: poor, amount: 500 }, h.b.db); // the saga re-sent it
      expect(await h.balance(poor)).toBe(1_100);
      expect((await h.events('wallet.debit-rejected')).filter((e) => e.key === rejectedPayment).map((e) => e.payload)).toEqual([
        { paymentId: rejectedPayment, userId: poor, amount: 500, reason: 'INSUFFICIENT_BALANCE' },
        { paymentId: rejectedPayment, userId: poor, amount: 500, reason: 'INSUFFICIENT_BALANCE' },
      ]);
      expect((await h.events('wallet.debited')).filter((e) => e.key === rejectedPayment)).toEqual([]);

      const rich = await funded(h, 700);
      const appliedPayment = randomUUID();
      await h.debit({ paymentId: appliedPayment, userId: rich, amount: 700 });
      await h.debit({ paymentId: appliedPayment, userId: rich, amount: 700 }, h.b.db); // balance 0 now: still the same debit
      await h.debit({ paymentId: appliedPayment, userId: rich, amount: 1 }); // a confused repeat changes nothing either
      expect(await h.balance(rich)).toBe(0);
      expect((await h.ledger(rich)).filter((l) => l.kind === 'DEBIT')).toHaveLength(1);
      expect((await h.events('wallet.debited')).filter((e) => e.key === appliedPayment).map((e) => e.payload)).toEqual(
        Array.from({ length: 3 }, () => ({ paymentId: appliedPayment, userId: rich, amount: 700, balance: 0 })),
      );
      expect((await h.events('wallet.debit-rejected')).filter((e) => e.key === appliedPayment)).toEqual([]);
    });

    it('50 concurrent debits race on one account over two pools: never below zero, exactly the covered ones applied', async () => {
      const userId = await funded(h, 1_000);
      const payments: string[] = Array.from({ length: 50 }, () => randomUUID());
      await Promise.all(payments.map((paymentId, i) => h.debit({ paymentId, userId, amount: 70 }, i % 2 ? h.a.db : h.b.db)));

      const decisions = await h.db('payment_decisions').whereIn('payment_id', payments);
      const applied = decisions.filter((d) => d.outcome === 'APPLIED');
      expect(decisions).toHaveLength(50);
      expect(applied).toHaveLength(14); // floor(1000 / 70)
      expect(applied.reduce((s, d) => s + d.amount, 0)).toBeLessThanOrEqual(1_000);
      expect(await h.balance(userId)).toBe(1_000 - 14 * 70);
      const debits = (await h.ledger(userId)).filter((l) => l.kind === 'DEBIT');
      expect(debits.map((l) => l.balance_after)).toEqual(Array.from({ length: 14 }, (_, i) => 1_000 - (i + 1) * 70));
      expect(await h.db('ledger').whereIn('payment_id', payments).where('balance_after', '<', 0)).toEqual([]);
      expect((await h.events('wallet.debited')).filter((e) => payments.includes(e.key))).toHaveLength(14);
      expect((await h.events('wallet.debit-rejected')).filter((e) => payments.includes(e.key))).toHaveLength(36);
    });

    it('20 copies of one payment’s debit racing on two pools (new message ids) → one debit; the losers re-announce it on retry', async () => {
      const userId = await funded(h, 5_000);
      const paymentId = randomUUID();
      const attempt = (i: number) => h.debit({ paymentId, userId, amount: 1_000 }, i % 2 ? h.a.db : h.b.db);
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => attempt(i)));
      // A loser of the race fails on the decision's primary key and rolls back; the consumer retries it.
      const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(failed.every((r) => /payment_decisions_pkey|ledger_payment_kind_idx/.test(String(r.reason?.message)))).toBe(true);
      await Promise.all(failed.map((_, i) => attempt(i)));

      expect(await h.balance(userId)).toBe(4_000);
      expect((await h.ledger(userId)).filter((l) => l.kind === 'DEBIT')).toHaveLength(1);
      const replies = (await h.events('wallet.debited')).filter((e) => e.key === paymentId);
      expect(replies).toHaveLength(20);
      expect(replies.map((r) => r.payload)).toEqual(Array.from({ length: 20 }, () => ({ paymentId, userId, amount: 1_000, balance: 4_000 })));
    });

    it('a refund gives back what the debit took, once, to the account it came from, whatever amount or user it names', async () => {
      const userId = await funded(h, 3_000);
      const paymentId = randomUUID();
      await h.debit({ paymentId, userId, amount: 2_500 });
      expect(await h.balance(userId)).toBe(500);

      const first = await h.refund({ paymentId, userId, amount: 2_500 });
      const again = await h.refund({ paymentId, userId, amount: 2_500 }, h.b.db);
      const confused = await h.refund({ paymentId, userId: randomUUID(), amount: 99_999 });
      expect(await h.balance(userId)).toBe(3_000);
      expect((await h.ledger(userId)).map((l) => [l.kind, l.amount, l.balance_after])).toEqual([
        ['CHARGE', 3_000, 3_000],
        ['DEBIT', 2_500, 500],
        ['REFUND', 2_500, 3_000],
      ]);
      expect((await h.decisions(paymentId)).map((d) => [d.op, d.outcome, d.amount])).toEqual([
        ['DEBIT', 'APPLIED', 2_500],
        ['REFUND', 'APPLIED', 2_500],
      ]);
      const refunded = (await h.events('wallet.refunded')).filter((e) => e.key === paymentId);
      expect(refunded.map((e) => e.causationId)).toEqual([first.id, again.id, confused.id]);
      expect(refunded.map((e) => e.payload)).toEqual(Array.from({ length: 3 }, () => ({ paymentId, userId, amount: 2_500, balance: 3_000 })));
    });

    it('a refund without an applied debit is a saga bug: NonRetriableError, and no money appears', async () => {
      const userId = await funded(h, 100);
      const before = await h.snapshot();
      await expect(h.refund({ paymentId: randomUUID(), userId, amount: 100 })).rejects.toBeInstanceOf(NonRetriableError);
      const rejectedPayment = randomUUID();
      await h.debit({ paymentId: rejectedPayment, userId, amount: 5_000 });
      const afterRejection = await h.snapshot();
      expect(afterRejection.accounts).toEqual(before.accounts);
      await expect(h.refund({ paymentId: rejectedPayment, userId, amount: 5_000 })).rejects.toBeInstanceOf(NonRetriableError);
      expect(await h.snapshot()).toEqual(afterRejection);
      expect(await h.balance(userId)).toBe(100);
    });
  });

  describe('through real Kafka: commands in, replies out keyed by the payment', () => {
    it('a debit delivered twice (same message id) and re-sent by the saga (new id) → one debit, the same wallet.debited twice', async () => {
      const userId = await funded(h, 8_000);
      const paymentId = randomUUID();
      const first = debitRequest({ paymentId, userId, amount: 3_000 });
      await h.send(first, first);
      await h.processed([first.id], 'first debit applied');
      const resent = debitRequest({ paymentId, userId, amount: 3_000 });
      await h.send(resent);
      await h.processed([resent.id], 're-sent debit applied');

      expect(await h.balance(userId)).toBe(5_000);
      expect((await h.ledger(userId)).filter((l) => l.kind === 'DEBIT')).toHaveLength(1);
      const replies = (await h.published('wallet.debited')).filter((m) => m.key === paymentId);
      expect(replies.map((m) => [m.envelope.causationId, m.envelope.payload])).toEqual([
        [first.id, { paymentId, userId, amount: 3_000, balance: 5_000 }],
        [resent.id, { paymentId, userId, amount: 3_000, balance: 5_000 }],
      ]);
    });

    it('an uncovered debit → wallet.debit-rejected on Kafka, keyed by the payment, balance unchanged', async () => {
      const userId = await funded(h, 10);
      const paymentId = randomUUID();
      const request = debitRequest({ paymentId, userId, amount: 11 });
      await h.send(request);
      await h.processed([request.id]);
      expect(await h.balance(userId)).toBe(10);
      const replies = (await h.published('wallet.debit-rejected')).filter((m) => m.key === paymentId);
      expect(replies.map((m) => [m.envelope.causationId, m.envelope.payload])).toEqual([[request.id, { paymentId, userId, amount: 11, reason: 'INSUFFICIENT_BALANCE' }]]);
    });

    it('50 debits racing over the partitions on one account → exactly the covered ones, one reply per payment', async () => {
      const userId = await funded(h, 2_000);
      const requests = Array.from({ length: 50 }, () => debitRequest({ paymentId: randomUUID(), userId, amount: 300 }));
      await h.send(...requests);
      await h.processed(requests.map((r) => r.id), '50 debits applied');
      expect(await h.balance(userId)).toBe(2_000 - 6 * 300);
      const ids = new Set(requests.map((r) => r.payload.paymentId));
      const debited = (await h.published('wallet.debited')).filter((m) => ids.has(m.key!));
      const rejected = (await h.published('wallet.debit-rejected')).filter((m) => ids.has(m.key!));
      expect(debited).toHaveLength(6);
      expect(rejected).toHaveLength(44);
      expect(new Set([...debited, ...rejected].map((m) => m.key)).size).toBe(50);
    });

    it('refund after debit → wallet.refunded once per request, the balance restored once', async () => {
      const userId = await funded(h, 6_000);
      const paymentId = randomUUID();
      const debit = debitRequest({ paymentId, userId, amount: 6_000 });
      await h.send(debit);
      await h.processed([debit.id]);
      expect(await h.balance(userId)).toBe(0);
      const refund = refundRequest({ paymentId, userId, amount: 6_000 });
      const resent = refundRequest({ paymentId, userId, amount: 6_000 });
      await h.send(refund, refund, resent);
      await h.processed([refund.id, resent.id], 'refunds applied');

      expect(await h.balance(userId)).toBe(6_000);
      expect((await h.ledger(userId)).map((l) => l.kind)).toEqual(['CHARGE', 'DEBIT', 'REFUND']);
      const replies = (await h.published('wallet.refunded')).filter((m) => m.key === paymentId);
      expect(replies.map((m) => [m.envelope.causationId, m.envelope.payload])).toEqual([
        [refund.id, { paymentId, userId, amount: 6_000, balance: 6_000 }],
        [resent.id, { paymentId, userId, amount: 6_000, balance: 6_000 }],
      ]);
    });

    it('a refund without a debit is dead-lettered with the reason, changes nothing, and the next command is still applied', async () => {
      const userId = await funded(h, 400);
      const orphan = refundRequest({ paymentId: randomUUID(), userId, amount: 400 });
      await h.send(orphan);
      const [dead] = await readTopic(`${h.prefix}wallet.refund-requested.dlq`, 1);
      expect(JSON.parse(dead.value!.toString()).id).toBe(orphan.id);
      expect(dead.headers?.['dlq-reason']?.toString()).toBe('NON_RETRIABLE');
      expect(await h.balance(userId)).toBe(400);
      expect(await h.decisions(orphan.payload.paymentId)).toEqual([]);

      const paymentId = randomUUID();
      const debit = debitRequest({ paymentId, userId, amount: 400 });
      await h.send(debit);
      await h.processed([debit.id]);
      const refund = refundRequest({ paymentId, userId, amount: 400 });
      await h.send(refund);
      await h.processed([refund.id]);
      expect(await h.balance(userId)).toBe(400);
      expect((await h.ledger(userId)).map((l) => l.kind)).toEqual(['CHARGE', 'DEBIT', 'REFUND']);
    });
  });

  it('money is conserved after everything above, and each payment is debited and refunded at most once', async () => {
    expect(await h.conservationViolations()).toEqual([]);
    const { rows: twice } = await h.db.raw(`select payment_id, kind, count(*) from ledger where payment_id is not null group by 1, 2 having count(*) > 1`);
    expect(twice).toEqual([]);
    const { rows: unmatched } = await h.db.raw(
      `select l.payment_id from ledger l left join payment_decisions d on d.payment_id = l.payment_id and d.op = l.kind and d.outcome = 'APPLIED'
        where l.payment_id is not null and d.payment_id is null
       union all
       select d.payment_id from payment_decisions d left join ledger l on l.payment_id = d.payment_id and l.kind = d.op
        where d.outcome = 'APPLIED' and l.id is null`,
    );
    expect(unmatched).toEqual([]);
    const { rows: negative } = await h.db.raw(`select 1 from ledger where balance_after < 0 union all select 1 from accounts where balance < 0`);
    expect(negative).toEqual([]);
  });
});
