import { createTestDatabase, type TestDatabase } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { createIdempotencyStore, createIdempotencyTable, IDEMPOTENCY_TABLE, requestFingerprint, type IdempotencyStore } from '../src/idempotency';
import { ProblemError } from '../src/problem';

let database: TestDatabase;
let store: IdempotencyStore;

beforeAll(async () => {
  database = await createTestDatabase('idempotency');
  await createIdempotencyTable(database.db);
  await database.db.schema.createTable('effects', (t) => {
    t.increments('id');
    t.text('scope').notNullable();
  });
  store = createIdempotencyStore({ db: database.db, lockMs: 300 });
});
afterAll(() => database.drop());

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'none';
  } catch (error) {
    return error instanceof ProblemError ? error.code : String(error);
  }
}

/** The way a handler uses the store: effect and answer in one transaction. */
async function apply(scope: string, key: string, fingerprint: string): Promise<{ replayed: boolean; body: unknown }> {
  const outcome = await store.begin(scope, key, fingerprint);
  if (outcome.kind === 'replay') return { replayed: true, body: outcome.answer.body };
  const body = await database.db.transaction(async (trx) => {
    const [row] = await trx('effects').insert({ scope }).returning('id');
    const answer = { effectId: row.id };
    await outcome.complete(trx, { status: 201, body: answer });
    return answer;
  });
  return { replayed: false, body };
}

const effects = async (scope: string) => Number((await database.db('effects').where({ scope }).count<{ count: string }[]>('* as count'))[0].count);

describe('idempotency store (real PostgreSQL)', () => {
  it('answers a repeated request with the first answer and applies the effect once', async () => {
    const scope = randomUUID();
    const fp = requestFingerprint('POST', '/x', { amount: 5 });
    const first = await apply(scope, 'k1', fp);
    const second = await apply(scope, 'k1', fp);
    expect(first.replayed).toBe(false);
    expect(second).toEqual({ replayed: true, body: first.body });
    expect(await effects(scope)).toBe(1);
  });

  it('refuses the same key for a different request with 422, and keys are per scope', async () => {
    const scope = randomUUID();
    await apply(scope, 'k', requestFingerprint('POST', '/x', { amount: 5 }));
    expect(await codeOf(apply(scope, 'k', requestFingerprint('POST', '/x', { amount: 6 })))).toBe('IDEMPOTENCY_KEY_REUSED');
    const other = await apply(randomUUID(), 'k', requestFingerprint('POST', '/x', { amount: 6 }));
    expect(other.replayed).toBe(false);
    expect(await effects(scope)).toBe(1);
  });

  it('answers 409 while the first request still holds the key, and lets a retry take over a claim whose holder died', async () => {
    const scope = randomUUID();
    const fp = requestFingerprint('POST', '/x', {});
    const first = await store.begin(scope, 'k', fp);
    expect(first.kind).toBe('claimed');
    expect(await codeOf(store.begin(scope, 'k', fp))).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
    if (first.kind === 'claimed') await first.attach(database.db, 'resource-1');
    await new Promise((r) => setTimeout(r, 400)); // the holder "died": its lock lapses
    const takeover = await store.begin(scope, 'k', fp);
    expect(takeover).toMatchObject({ kind: 'claimed', resourceId: 'resource-1' });
  });

  it('a holder whose claim was taken over (stalled, not dead) can neither complete, attach nor release it: the effect is applied once', async () => {
    const scope = randomUUID();
    const fp = requestFingerprint('POST', '/x', {});
    const stalled = await store.begin(scope, 'k', fp);
    if (stalled.kind !== 'claimed') throw new Error('expected a claim');
    await new Promise((r) => setTimeout(r, 400)); // its lock lapses while it is still at work
    const retry = await store.begin(scope, 'k', fp);
    if (retry.kind !== 'claimed') throw new Error('expected the retry to take the claim over');

    const late = database.db.transaction(async (trx) => {
      await trx('effects').insert({ scope });
      await stalled.complete(trx, { status: 201, body: { by: 'stalled' } });
    });
    expect(await codeOf(late)).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
    expect(await codeOf(database.db.transaction((trx) => stalled.attach(trx, 'stalled-resource')))).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
    await stalled.release(); // must not hand the retry's claim to a third request
    expect(await codeOf(store.begin(scope, 'k', fp))).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');

    await database.db.transaction(async (trx) => {
      await trx('effects').insert({ scope });
      await retry.complete(trx, { status: 201, body: { by: 'retry' } });
    });
    expect(await effects(scope)).toBe(1);
    expect(await store.begin(scope, 'k', fp)).toMatchObject({ kind: 'replay', answer: { status: 201, body: { by: 'retry' } }, resourceId: null });
  });

  it('applies the effect once when 50 identical requests race', async () => {
    const scope = randomUUID();
    const fp = requestFingerprint('POST', '/x', { amount: 1 });
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => apply(scope, 'race', fp)));
    const codes = await Promise.all(results.map((r) => (r.status === 'fulfilled' ? 'ok' : codeOf(Promise.reject(r.reason)))));
    expect(codes.filter((c) => c !== 'ok' && c !== 'IDEMPOTENCY_KEY_IN_FLIGHT')).toEqual([]);
    expect(await effects(scope)).toBe(1);
    expect((await apply(scope, 'race', fp)).replayed).toBe(true);
  });

  it('release gives the key back when the work failed and changed nothing', async () => {
    const scope = randomUUID();
    const fp = requestFingerprint('POST', '/x', {});
    const first = await store.begin(scope, 'k', fp);
    if (first.kind !== 'claimed') throw new Error('expected a claim');
    await first.release();
    expect((await store.begin(scope, 'k', fp)).kind).toBe('claimed');
  });

  it('keeps every answer at least 24 hours (48 by default) and purges it after that', async () => {
    const scope = randomUUID();
    const ages = { new: 0, 'a-day': 24 * 60 + 1, 'almost-two-days': 47 * 60 + 50, 'past-two-days': 48 * 60 + 10, old: 72 * 60 };
    for (const [key, minutes] of Object.entries(ages)) {
      await apply(scope, key, requestFingerprint('POST', '/x', {}));
      await database.db(IDEMPOTENCY_TABLE).where({ scope, key }).update({ created_at: database.db.raw(`now() - make_interval(mins => ?)`, [minutes]) });
    }
    // The service's defaults, as wallet and payment make their stores.
    expect(await createIdempotencyStore({ db: database.db }).purgeExpired()).toBeGreaterThanOrEqual(2);
    expect((await database.db(IDEMPOTENCY_TABLE).where({ scope }).pluck('key')).sort()).toEqual(['a-day', 'almost-two-days', 'new']);
  });

  it('a claim is exclusive for exactly its lock time (30 s by default), taken or taken over', async () => {
    const lockedFor = async (scope: string) =>
      Number((await database.db.raw(`select extract(epoch from locked_until - now()) * 1000 as ms from ${IDEMPOTENCY_TABLE} where scope = ?`, [scope])).rows[0].ms);
    const defaults = createIdempotencyStore({ db: database.db });
    const scope = randomUUID();
    const startedAt = Date.now();
    expect((await defaults.begin(scope, 'k', 'fp')).kind).toBe('claimed');
    const left = await lockedFor(scope);
    expect(left).toBeLessThanOrEqual(30_000);
    expect(left).toBeGreaterThan(30_000 - (Date.now() - startedAt) - 1_000);
    expect(await codeOf(defaults.begin(scope, 'k', 'fp'))).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');

    // Lapsed a moment ago: a retry takes it over for a whole lock time again.
    await database.db(IDEMPOTENCY_TABLE).where({ scope }).update({ locked_until: database.db.raw(`now() - interval '1 millisecond'`) });
    const takenAt = Date.now();
    expect((await defaults.begin(scope, 'k', 'fp')).kind).toBe('claimed');
    const again = await lockedFor(scope);
    expect(again).toBeLessThanOrEqual(30_000);
    expect(again).toBeGreaterThan(30_000 - (Date.now() - takenAt) - 1_000);
    // Still a second to go: nobody takes it over.
    await database.db(IDEMPOTENCY_TABLE).where({ scope }).update({ locked_until: database.db.raw(`now() + interval '1 second'`) });
    expect(await codeOf(defaults.begin(scope, 'k', 'fp'))).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
  });
});

describe('requestFingerprint', () => {
  it('ignores key order but not values', () => {
    expect(requestFingerprint('post', '/a', { a: 1, b: 2 })).toBe(requestFingerprint('POST', '/a', { b: 2, a: 1 }));
    expect(requestFingerprint('POST', '/a', { a: 1 })).not.toBe(requestFingerprint('POST', '/a', { a: '1' }));
    expect(requestFingerprint('POST', '/a', { a: 1 })).not.toBe(requestFingerprint('POST', '/b', { a: 1 }));
  });
});
