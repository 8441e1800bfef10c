import { waitFor } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { charge, createWalletHarness, type Answer, type WalletHarness } from './wallet.harness';

/** How long a claim on an Idempotency-Key stays exclusive here (30 s in the service), so a stall can outlast it quickly. */
const LOCK_MS = 1_000;

describe('a charge retried while its first attempt is stalled in the database (real PostgreSQL, two instances)', () => {
  let h: WalletHarness;
  beforeAll(async () => {
    h = await createWalletHarness({ idempotencyLockMs: LOCK_MS });
  });
  afterAll(() => h?.cleanup());

  /** Backends of the harness's database waiting for a lock (the charges queued behind the stall). */
  const lockWaiters = async () =>
    Number((await h.db.raw(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)).rows[0].n);

  it('the retry takes the key over after the lock time, yet the money is added once and every answer names the same charge', async () => {
    const userId = randomUUID();
    const key = randomUUID();
    // Give the user an account first, so the charges update one row rather than race to create it.
    expect((await charge(h.a.url, userId, { amount: 1 })).status).toBe(201);

    // A second connection holds the accounts table: every balance change waits behind it.
    const stall = await h.db.transaction();
    let first: Promise<Answer> | undefined;
    let retry: Promise<Answer> | undefined;
    try {
      await stall.raw('lock table accounts in access exclusive mode');
      first = charge(h.a.url, userId, { amount: 1_000 }, key);
      await waitFor(async () => (await lockWaiters()) === 1, { label: 'the first attempt waits for the accounts table' });
      // Its claim lasts exactly the lock time from when it was made: not shorter (no early takeover), not longer.
      const claim = (await h.db.raw(`select extract(epoch from locked_until - created_at) * 1000 as ms from idempotency_keys where scope = ? and key = ?`, [userId, key])).rows[0];
      expect(Number(claim.ms)).toBeCloseTo(LOCK_MS, 0);
      // While the claim has two seconds to go, a retry is refused (409), not let in early.
      const token = (await h.db.raw(`select locked_until::text as t from idempotency_keys where scope = ? and key = ?`, [userId, key])).rows[0].t as string;
      await h.db('idempotency_keys').where({ scope: userId, key }).update({ locked_until: h.db.raw(`now() + interval '2 seconds'`) });
      const early = await charge(h.b.url, userId, { amount: 1_000 }, key);
      expect([early.status, early.body.code]).toEqual([409, 'IDEMPOTENCY_KEY_IN_FLIGHT']);
      await h.db('idempotency_keys').where({ scope: userId, key }).update({ locked_until: h.db.raw(`?::timestamptz`, [token]) }); // the first attempt's own claim again
      await new Promise((r) => setTimeout(r, LOCK_MS + 300)); // its claim on the key lapses

      retry = charge(h.b.url, userId, { amount: 1_000 }, key);
      await waitFor(async () => (await lockWaiters()) === 2, { label: 'the retry took the key over and waits too' });
    } finally {
      await stall.rollback(); // the database is back
    }
    const answers = await Promise.all([first!, retry!]);

    const charges = (await h.ledger(userId)).filter((l) => l.kind === 'CHARGE' && l.idempotency_key === key);
    expect(charges).toHaveLength(1);
    expect(await h.balance(userId)).toBe(1 + 1_000);
    expect(await h.conservationViolations()).toEqual([]);

    // One attempt reports the charge; the other either reports the same one or says to ask again.
    const created = answers.filter((a) => a.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const a of answers.filter((a) => a.status !== 201)) expect([a.status, a.body.code]).toEqual([409, 'IDEMPOTENCY_KEY_IN_FLIGHT']);
    const theCharge = { transactionId: charges[0].transaction_id, amount: 1_000, balance: 1_001 };
    for (const a of created) expect(a.body).toEqual(theCharge);
    // Asking again, on either instance, answers that same charge.
    for (const url of [h.a.url, h.b.url]) expect(await charge(url, userId, { amount: 1_000 }, key)).toMatchObject({ status: 201, body: theCharge });
    expect(await h.balance(userId)).toBe(1_001);
  });
});
