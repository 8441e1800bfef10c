import { waitFor } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { call, createPaymentHarness, HARNESS_CONCERT, type PaymentHarness, type PaymentInstance } from './payment.harness';

/**
 * Sales per concert in the payment service: paying is for fans admitted to the sale of the hold's
 * concert (403 WRONG_SALE otherwise, with nothing written), and `payment.completed` names the sale
 * and queue ticket of the admission that paid, so the gateway frees exactly that slot.
 */
describe('payment: admitted for one sale only, and the slot a payment frees (real Kafka and PostgreSQL)', () => {
  let h: PaymentHarness;
  let a: PaymentInstance;
  const OTHER_CONCERT = randomUUID();

  beforeAll(async () => {
    h = await createPaymentHarness({ syncWaitMs: 10_000 });
    a = await h.startInstance();
    await h.settled(1);
  });
  afterAll(() => h?.cleanup());

  const pay = (userId: string, reservationId: string, sale: { concertId: string; ticket: number } | null, key = randomUUID()) =>
    call(a.url, { method: 'POST', path: '/payments', userId, sale, key, body: { reservationId } });

  /** Everything a refused payment must leave as it was, for this hold and key. */
  async function written(reservationId: string, key: string) {
    const [payments, keys, outbox] = await Promise.all([
      h.db('payments').where({ reservation_id: reservationId }).count<{ n: string }[]>({ n: '*' }),
      h.db('idempotency_keys').where({ key }).count<{ n: string }[]>({ n: '*' }),
      h.db('outbox').count<{ n: string }[]>({ n: '*' }),
    ]);
    return { payments: Number(payments[0].n), keys: Number(keys[0].n), outbox: Number(outbox[0].n) };
  }

  it('records the sale and queue ticket of the admission on the payment, and payment.completed carries them', async () => {
    const userId = randomUUID();
    const reservationId = await h.hold(userId, { price: 64_000 });
    const res = await pay(userId, reservationId, { concertId: HARNESS_CONCERT, ticket: 90_001 });
    expect(res.status).toBe(201);
    const paymentId = res.body.paymentId as string;
    expect(await h.payment(paymentId)).toMatchObject({ sale_concert_id: HARNESS_CONCERT, queue_ticket: 90_001, status: 'COMPLETED' });
    await waitFor(() => h.outcomesOf(paymentId).length === 1 || undefined);
    expect(h.outcomesOf(paymentId)[0]).toMatchObject({
      type: 'payment.completed',
      payload: { paymentId, userId, reservationId, amount: 64_000, concertId: HARNESS_CONCERT, queueTicket: 90_001 },
    });
  });

  it("refuses paying for a seat of another concert with 403 WRONG_SALE, writes nothing, and frees the key for the concert's own sale", async () => {
    const userId = randomUUID();
    const reservationId = await h.hold(userId);
    const key = randomUUID();
    await waitFor(async () => (await h.db('payable_holds').where({ reservation_id: reservationId }).first()) ?? undefined, { label: 'the hold to arrive' });
    const before = await written(reservationId, key);

    const wrong = await pay(userId, reservationId, { concertId: OTHER_CONCERT, ticket: 3 }, key);
    expect(wrong.status).toBe(403);
    expect(wrong.contentType).toContain('application/problem+json');
    expect(wrong.body).toMatchObject({ code: 'WRONG_SALE', concertId: HARNESS_CONCERT, admittedFor: OTHER_CONCERT });
    const none = await pay(userId, reservationId, null, key);
    expect([none.status, none.body.code]).toEqual([403, 'WRONG_SALE']);
    expect(await written(reservationId, key)).toEqual(before);
    expect(h.commands.filter((c) => c.type === 'wallet.debit-requested' && (c.payload as { userId: string }).userId === userId)).toEqual([]);

    // The refusal changed nothing, so the same key pays under the right admission.
    const right = await pay(userId, reservationId, { concertId: HARNESS_CONCERT, ticket: 4 }, key);
    expect(right.status).toBe(201);
    expect(await h.payment(right.body.paymentId as string)).toMatchObject({ sale_concert_id: HARNESS_CONCERT, queue_ticket: 4 });
  });

  it('refuses a hold announced without its concert (from before sales) under any admission', async () => {
    const userId = randomUUID();
    const reservationId = await h.hold(userId, { concertId: null });
    const key = randomUUID();
    const res = await pay(userId, reservationId, { concertId: HARNESS_CONCERT, ticket: 5 }, key);
    expect([res.status, res.body.code]).toEqual([403, 'WRONG_SALE']);
    expect(await h.db('payable_holds').where({ reservation_id: reservationId }).first()).toMatchObject({ concert_id: null, status: 'HELD' });
    expect(await h.db('payments').where({ reservation_id: reservationId })).toEqual([]);
  });

  it("keeps someone else's hold a 404 whatever the sale (no hint that it exists)", async () => {
    const reservationId = await h.hold(randomUUID());
    await waitFor(async () => (await h.db('payable_holds').where({ reservation_id: reservationId }).first()) ?? undefined, { label: 'the hold to arrive' });
    const res = await pay(randomUUID(), reservationId, { concertId: OTHER_CONCERT, ticket: 1 });
    expect([res.status, res.body.code]).toEqual([404, 'NOT_FOUND']);
  });
});
