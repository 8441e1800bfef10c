import { migrateLatest } from '@ticketing/db';
import { createTestDatabase, type TestDatabase } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createPaymentWaiter, PAYMENT_FINISHED_CHANNEL, type PaymentWaiter } from '../src/checkout/payment-waiter';
import { paymentRepository as payments, type PaymentRow } from '../src/checkout/payment.repository';
import { logger } from './payment.harness';

describe('payment waiter: how POST /payments learns its saga ended (real PostgreSQL)', () => {
  let database: TestDatabase;
  let waiter: PaymentWaiter;
  let queries = 0;
  const countQuery = () => queries++;

  beforeAll(async () => {
    database = await createTestDatabase('payment_waiter', 5);
    await migrateLatest(database.db, path.resolve(__dirname, '../migrations'));
    waiter = createPaymentWaiter({ db: database.db, databaseUrl: database.url, logger, pollMs: 100 });
    await waiter.start();
    database.db.on('query', countQuery);
  });
  afterAll(async () => {
    database.db.off('query', countQuery);
    await waiter.stop();
    await database.drop();
  });

  async function startedPayment(): Promise<PaymentRow> {
    const id = randomUUID();
    return database.db.transaction((trx) =>
      payments.insert(
        trx,
        { id, user_id: randomUUID(), reservation_id: randomUUID(), amount: 1000, idempotency_key: randomUUID(), trace_context: {}, correlation_id: id },
        60_000,
      ),
    );
  }

  it('hands a payment finished in this process to its request: no re-read, no polling while it waits', async () => {
    const row = await startedPayment();
    queries = 0;
    const answer = waiter.waitForFinal(row.id, 10_000);
    await new Promise((r) => setTimeout(r, 800)); // eight poll intervals
    expect(waiter.isWaiting(row.id)).toBe(true);
    expect(queries).toBe(1); // the first read only: nothing polls while the LISTEN connection is up
    const finished = { ...row, status: 'COMPLETED' as const, finished_at: new Date() };
    const startedAt = Date.now();
    waiter.finished(finished);
    const got = await answer;
    expect(Date.now() - startedAt).toBeLessThan(100);
    // The database still says STARTED: the answer is the row handed over, not one read again.
    expect(got.status).toBe('COMPLETED');
    expect((await payments.find(database.db, row.id))!.status).toBe('STARTED');
    expect(queries).toBe(2); // that last find, made by the test
    expect(waiter.isWaiting(row.id)).toBe(false);
  });

  it('wakes the request when another instance finishes the payment and NOTIFYs', async () => {
    const row = await startedPayment();
    let answered = false;
    const answer = waiter.waitForFinal(row.id, 10_000).finally(() => (answered = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false); // not before it is finished
    const startedAt = Date.now();
    await database.db.transaction(async (trx) => {
      await trx('payments').where({ id: row.id }).update({ status: 'COMPLETED', next_retry_at: null, finished_at: trx.fn.now() });
      await trx.raw('select pg_notify(?, ?)', [PAYMENT_FINISHED_CHANNEL, row.id]);
    });
    expect((await answer).status).toBe('COMPLETED');
    expect(Date.now() - startedAt).toBeLessThan(2_000);
  });

  it('answers the payment as it stands when the wait runs out', async () => {
    const row = await startedPayment();
    const startedAt = Date.now();
    expect((await waiter.waitForFinal(row.id, 1_000)).status).toBe('STARTED');
    // At the end of the wait: not before it, and not long after.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(990);
    expect(Date.now() - startedAt).toBeLessThan(1_000 + 1_000);
    expect(waiter.isWaiting(row.id)).toBe(false);
  });
});
