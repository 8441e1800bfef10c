import { randomUUID } from 'node:crypto';
import { concertDetailResponse, EVENTS, saleResponse, type SaleSettingsRequest } from '@ticketing/contracts';
import type { CallerIdentity } from '@ticketing/http';
import { decodeEvent } from '@ticketing/messaging';
import { createCatalogHarness, type CatalogHarness } from './catalog.harness';

const MINUTE = 60_000;

/** A valid sale: pre-queue from 10:00, opening at 10:30 tomorrow. */
function settings(overrides: Partial<Record<keyof SaleSettingsRequest, unknown>> = {}): Record<string, unknown> {
  const day = Math.floor(Date.now() / 86_400_000 + 1) * 86_400_000;
  return {
    queueOpensAt: new Date(day + 10 * 60 * MINUTE).toISOString(),
    saleOpensAt: new Date(day + 10.5 * 60 * MINUTE).toISOString(),
    maxActive: 300,
    admitPerMinute: 120,
    activeMinutes: 5,
    mode: 'queue',
    ...overrides,
  };
}

describe('concert-catalog: a sale per concert (real PostgreSQL and Kafka)', () => {
  let h: CatalogHarness;
  beforeAll(async () => {
    h = await createCatalogHarness('catalog_sales');
  });
  afterAll(() => h?.cleanup());

  const saleEvents = async (concertId: string) =>
    (await h.db('outbox').where({ type: 'sale.configured', key: concertId }).orderBy('id')).map((row: { envelope: { payload: unknown } }) => row.envelope.payload);
  const storedSale = (concertId: string) => h.db('sales').where({ concert_id: concertId }).first();
  const put = (concertId: string, body: unknown, as: CallerIdentity = h.admin) => h.call(`/admin/concerts/${concertId}/sale`, { method: 'PUT', as, body });

  it('shows no sale on GET /concerts/{id} until one is configured, then its public part only', async () => {
    const concertId = await h.createConcert({ title: 'Opening Night', description: 'the first show' });
    const before = await h.call(`/concerts/${concertId}`);
    expect(before.status).toBe(200);
    expect(before.body).toEqual({ concertId, title: 'Opening Night', artist: 'The Lanterns', venue: 'Olympic Hall', description: 'the first show', sale: null });

    const body = settings({ mode: 'passthrough', powDifficulty: 12 });
    const res = await put(concertId, body);
    expect(res.status).toBe(200);
    expect(saleResponse.parse(res.body)).toEqual({ ...body, concertId, revision: 1, updatedAt: expect.any(String) });

    const after = await h.call(`/concerts/${concertId}`);
    expect(after.status).toBe(200);
    expect(concertDetailResponse.strict().parse(after.body)).toEqual({
      concertId,
      title: 'Opening Night',
      artist: 'The Lanterns',
      venue: 'Olympic Hall',
      description: 'the first show',
      sale: { queueOpensAt: body.queueOpensAt, saleOpensAt: body.saleOpensAt, mode: 'passthrough' },
    });
    // The admin's settings (cap, rate, proof-of-work) are not for the public.
    expect(Object.keys(after.body.sale as object).sort()).toEqual(['mode', 'queueOpensAt', 'saleOpensAt']);

    const admin = await h.call(`/admin/concerts/${concertId}/sale`, { as: h.admin });
    expect(admin.status).toBe(200);
    expect(admin.body).toEqual(res.body);
  });

  it('fills in the defaults (mode queue, no proof-of-work) and reads offsets as instants', async () => {
    const concertId = await h.createConcert();
    const res = await put(concertId, { queueOpensAt: '2030-05-01T09:00:00+09:00', saleOpensAt: '2030-05-01T01:00:00Z', maxActive: 1, admitPerMinute: 1, activeMinutes: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ queueOpensAt: '2030-05-01T00:00:00.000Z', saleOpensAt: '2030-05-01T01:00:00.000Z', mode: 'queue', powDifficulty: 0, revision: 1 });
  });

  it('publishes sale.configured with the whole sale and its revision, keyed by concert, from the outbox', async () => {
    const concertId = await h.createConcert();
    const body = settings();
    const res = await put(concertId, body);
    expect(res.status).toBe(200);
    const expected = { concertId, revision: 1, ...body, powDifficulty: 0 };
    expect(await saleEvents(concertId)).toEqual([expected]);

    // Every sale.configured this harness has written so far reaches the topic; this concert's is one of them.
    const written = Number((await h.db('outbox').where({ type: 'sale.configured' }).count<{ n: string }[]>({ n: '*' }))[0].n);
    const messages = await h.readTopic('sale.configured', written);
    const mine = messages.filter((m) => m.key?.toString() === concertId);
    expect(mine).toHaveLength(1);
    const event = decodeEvent(mine[0].value);
    expect(event.type).toBe('sale.configured');
    expect(EVENTS['sale.configured'].schema.parse(event.payload)).toEqual(expected);
  });

  it('replaces the sale on a second PUT with revision 2, and publishes that revision', async () => {
    const concertId = await h.createConcert();
    expect((await put(concertId, settings())).body.revision).toBe(1);
    const changed = settings({ maxActive: 50, admitPerMinute: 30, activeMinutes: 10, mode: 'passthrough' });
    const second = await put(concertId, changed);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ ...changed, revision: 2 });
    expect(await storedSale(concertId)).toMatchObject({ revision: 2, max_active: 50, admit_per_minute: 30, active_minutes: 10, mode: 'passthrough' });
    expect((await saleEvents(concertId)).map((p) => (p as { revision: number; maxActive: number })).map((p) => [p.revision, p.maxActive])).toEqual([
      [1, 300],
      [2, 50],
    ]);
    expect((await h.call(`/concerts/${concertId}`)).body.sale).toEqual({ queueOpensAt: changed.queueOpensAt, saleOpensAt: changed.saleOpensAt, mode: 'passthrough' });
  });

  it('gives concurrent PUTs distinct revisions, the stored sale being the one with the highest', async () => {
    const concertId = await h.createConcert();
    const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => put(concertId, settings({ maxActive: n }))));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const revisions = answers.map((a) => a.body.revision as number);
    expect([...revisions].sort()).toEqual([1, 2, 3, 4, 5]);
    const last = answers[revisions.indexOf(5)].body;
    expect(await storedSale(concertId)).toMatchObject({ revision: 5, max_active: last.maxActive });
    // One event per change, in revision order within the concert's key, each with the settings of its PUT.
    const events = (await saleEvents(concertId)) as { revision: number; maxActive: number }[];
    expect(events.map((e) => e.revision)).toEqual([1, 2, 3, 4, 5]);
    for (const answer of answers) expect(events).toContainEqual(expect.objectContaining({ revision: answer.body.revision, maxActive: answer.body.maxActive }));
  });

  it('stores the sale and its event together or not at all (an outbox failure leaves the sale as it was)', async () => {
    const concertId = await h.createConcert();
    await put(concertId, settings({ maxActive: 10 }));
    // Make the outbox refuse this concert's next event: the transaction must take the sale change back with it.
    await h.db.raw(`
      create function refuse_sale_event() returns trigger language plpgsql as $$
      begin
        if new.type = 'sale.configured' and new.key = '${concertId}' then raise exception 'outbox refused (test)'; end if;
        return new;
      end $$;
      create trigger refuse_sale_event before insert on outbox for each row execute function refuse_sale_event();`);
    try {
      const res = await put(concertId, settings({ maxActive: 99 }));
      expect(res.status).toBe(500);
      expect(res.contentType).toContain('application/problem+json');
    } finally {
      await h.db.raw('drop trigger refuse_sale_event on outbox; drop function refuse_sale_event();');
    }
    expect(await storedSale(concertId)).toMatchObject({ revision: 1, max_active: 10 });
    expect(await saleEvents(concertId)).toHaveLength(1);
    // With the outbox working again, the next change is revision 2: no revision was used up.
    expect((await put(concertId, settings({ maxActive: 99 }))).body).toMatchObject({ revision: 2, maxActive: 99 });
  });

  describe('refuses bad input with 400 VALIDATION_FAILED naming the field, and stores and publishes nothing', () => {
    let fresh: string;
    let configured: string;
    beforeAll(async () => {
      fresh = await h.createConcert();
      configured = await h.createConcert();
      await put(configured, settings());
    });

    const s = settings();
    const cases: [string, unknown, string][] = [
      ['the waiting room opening after the sale', { ...s, queueOpensAt: new Date(Date.parse(s.saleOpensAt as string) + 1000).toISOString() }, 'body.queueOpensAt'],
      ['maxActive 0', { ...s, maxActive: 0 }, 'body.maxActive'],
      ['maxActive above the bound', { ...s, maxActive: 100_001 }, 'body.maxActive'],
      ['a fractional admitPerMinute', { ...s, admitPerMinute: 1.5 }, 'body.admitPerMinute'],
      ['admitPerMinute as a string', { ...s, admitPerMinute: '60' }, 'body.admitPerMinute'],
      ['activeMinutes above 120', { ...s, activeMinutes: 121 }, 'body.activeMinutes'],
      ['an unknown mode', { ...s, mode: 'lottery' }, 'body.mode'],
      ['powDifficulty above the bound', { ...s, powDifficulty: 29 }, 'body.powDifficulty'],
      ['saleOpensAt missing', { ...s, saleOpensAt: undefined }, 'body.saleOpensAt'],
      ['a time that is not a time', { ...s, queueOpensAt: 'tomorrow morning' }, 'body.queueOpensAt'],
      ['a time without an offset', { ...s, saleOpensAt: '2030-01-01T10:00:00' }, 'body.saleOpensAt'],
      ['an unknown field', { ...s, revision: 7 }, 'body'],
      ['an array for a body', [s], 'body'],
    ];
    it.each(cases)('%s', async (_label, body, field) => {
      const outboxBefore = await h.count('outbox');
      for (const concertId of [fresh, configured]) {
        const res = await put(concertId, body);
        expect(res.status).toBe(400);
        expect(res.contentType).toContain('application/problem+json');
        expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', detail: expect.stringContaining(field) });
        expect((res.body.errors as { field: string }[]).map((e) => e.field)).toContainEqual(field);
      }
      expect(await storedSale(fresh)).toBeUndefined();
      expect(await storedSale(configured)).toMatchObject({ revision: 1, max_active: s.maxActive });
      expect(await h.count('outbox')).toBe(outboxBefore);
    });

    it('malformed JSON → 400 MALFORMED_JSON', async () => {
      const res = await h.call(`/admin/concerts/${fresh}/sale`, { method: 'PUT', as: h.admin, rawBody: '{"maxActive": 1,' });
      expect([res.status, res.body.code]).toEqual([400, 'MALFORMED_JSON']);
      expect(await storedSale(fresh)).toBeUndefined();
    });

    it('a malformed concert id → 400 naming path.concertId', async () => {
      const res = await put('not-a-uuid', s);
      expect(res.status).toBe(400);
      expect(res.body.detail).toContain('path.concertId');
    });
  });

  it('answers an unknown concert with 404 and writes neither a sale nor an event', async () => {
    const unknown = randomUUID();
    const outboxBefore = await h.count('outbox');
    const salesBefore = await h.count('sales');
    const answers = [await put(unknown, settings()), await h.call(`/concerts/${unknown}`), await h.call(`/admin/concerts/${unknown}/sale`, { as: h.admin })];
    for (const res of answers) {
      expect([res.status, res.body.code]).toEqual([404, 'NOT_FOUND']);
      expect(res.contentType).toContain('application/problem+json');
    }
    expect(await h.count('outbox')).toBe(outboxBefore);
    expect(await h.count('sales')).toBe(salesBefore);
    expect((await h.call('/concerts/not-a-uuid')).status).toBe(400);
  });

  it('answers the admin read of a concert without a sale with 404 SALE_NOT_FOUND', async () => {
    const concertId = await h.createConcert();
    const res = await h.call(`/admin/concerts/${concertId}/sale`, { as: h.admin });
    expect([res.status, res.body.code]).toEqual([404, 'SALE_NOT_FOUND']);
  });

  it('refuses the sale routes to non-admin callers (403 ADMIN_REQUIRED) and writes nothing', async () => {
    const concertId = await h.createConcert();
    await put(concertId, settings({ maxActive: 7 }));
    const outboxBefore = await h.count('outbox');
    const callers = [{ access: 'public' as const }, { access: 'user' as const, userId: randomUUID() }, { access: 'active' as const, userId: randomUUID(), sale: { concertId, ticket: 1 } }];
    for (const as of callers) {
      for (const res of [await put(concertId, settings({ maxActive: 1 }), as), await h.call(`/admin/concerts/${concertId}/sale`, { as })]) {
        expect([res.status, res.body.code]).toEqual([403, 'ADMIN_REQUIRED']);
      }
    }
    expect(await storedSale(concertId)).toMatchObject({ revision: 1, max_active: 7 });
    expect(await h.count('outbox')).toBe(outboxBefore);
  });

  describe('admitted for one sale only: seats of a date', () => {
    let concertA: string;
    let concertB: string;
    let scheduleOfA: string;
    const fan = randomUUID();
    const seats = (as: CallerIdentity | null, headers?: Record<string, string>) => h.call(`/schedules/${scheduleOfA}/seats`, { as, headers });
    beforeAll(async () => {
      concertA = await h.createConcert({ title: 'A' });
      concertB = await h.createConcert({ title: 'B' });
      scheduleOfA = await h.createSchedule(concertA, { seatCount: 5 });
    });

    it("lists them for a fan admitted to that concert's sale", async () => {
      const res = await seats({ access: 'active', userId: fan, sale: { concertId: concertA, ticket: 3 } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ scheduleId: scheduleOfA, concertId: concertA });
      expect(res.body.seats).toHaveLength(5);
    });

    it("refuses a fan admitted to another concert's sale with 403 WRONG_SALE, even one revalidating a tag it has", async () => {
      const etag = (await seats({ access: 'active', userId: fan, sale: { concertId: concertA, ticket: 3 } })).headers.get('etag')!;
      for (const headers of [undefined, { 'if-none-match': etag, 'cache-control': 'max-age=0' }]) {
        const res = await seats({ access: 'active', userId: fan, sale: { concertId: concertB, ticket: 3 } }, headers);
        expect(res.status).toBe(403);
        expect(res.contentType).toContain('application/problem+json');
        expect(res.body).toMatchObject({ code: 'WRONG_SALE', concertId: concertA, admittedFor: concertB });
        expect(res.body.seats).toBeUndefined();
        expect(res.headers.get('etag')).not.toBe(etag);
      }
    });

    it('refuses an admission that names no sale with WRONG_SALE, and callers not admitted at all with FORBIDDEN', async () => {
      const noSale = await seats({ access: 'active', userId: fan });
      expect([noSale.status, noSale.body.code]).toEqual([403, 'WRONG_SALE']);
      for (const as of [{ access: 'user' as const, userId: fan }, { access: 'public' as const }]) {
        const res = await seats(as);
        expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
      }
    });

    it('still answers an unknown date with 404, whatever the sale', async () => {
      const res = await h.call(`/schedules/${randomUUID()}/seats`, { as: { access: 'active', userId: fan, sale: { concertId: concertB, ticket: 1 } } });
      expect([res.status, res.body.code]).toEqual([404, 'NOT_FOUND']);
    });
  });
});
