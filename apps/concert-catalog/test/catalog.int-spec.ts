import { randomUUID } from 'node:crypto';
import { decodeEvent } from '@ticketing/messaging';
import { createCatalogHarness, openWindow, seatEvent, type CatalogHarness } from './catalog.harness';

const HOUR = 3_600_000;

describe('concert-catalog: admin, publishing and listings (real PostgreSQL and Kafka)', () => {
  let h: CatalogHarness;
  beforeAll(async () => {
    h = await createCatalogHarness('catalog_api');
  });
  afterAll(() => h?.cleanup());

  it('creates a concert and a schedule and publishes schedule.published with the seat inventory and prices', async () => {
    const concertId = await h.createConcert({ title: 'Spring Tour', description: 'an evening of songs' });
    const window = openWindow();
    const res = await h.call(`/admin/concerts/${concertId}/schedules`, {
      method: 'POST',
      as: h.admin,
      body: { ...window, priceSections: [{ fromSeat: 11, toSeat: 50, price: 80_000 }, { fromSeat: 1, toSeat: 10, price: 150_000 }] },
    });
    expect(res.status).toBe(201);
    const scheduleId = res.body.scheduleId as string;

    const [message] = await h.readTopic('schedule.published', 1);
    expect(message.key?.toString()).toBe(scheduleId);
    const event = decodeEvent(message.value);
    expect(event.type).toBe('schedule.published');
    expect(event.payload).toEqual({
      scheduleId,
      concertId,
      startsAt: window.startsAt,
      bookingOpensAt: window.bookingOpensAt,
      bookingClosesAt: window.bookingClosesAt,
      seats: Array.from({ length: 50 }, (_, i) => ({ seatNo: i + 1, price: i < 10 ? 150_000 : 80_000 })),
    });

    const concerts = await h.call('/concerts');
    expect(concerts.status).toBe(200);
    expect(concerts.body.concerts).toContainEqual({ concertId, title: 'Spring Tour', artist: 'The Lanterns', venue: 'Olympic Hall', description: 'an evening of songs' });
  });

  it('pages GET /concerts with a cursor: every concert once, oldest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await h.createConcert({ title: `Paged ${i}` }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await h.call(`/concerts?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...(res.body.concerts as { concertId: string }[]).map((c) => c.concertId));
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    expect(seen.filter((id) => ids.includes(id))).toEqual(ids);
    expect(new Set(seen).size).toBe(seen.length);
    for (const bad of ['limit=0', 'limit=500', 'cursor=bm9wZQ']) {
      const res = await h.call(`/concerts?${bad}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
  });

  it('refuses every forged cursor of GET /concerts with 400 VALIDATION_FAILED (problem+json) before it reaches SQL', async () => {
    await h.createConcert({ title: 'Forged 0' });
    await h.createConcert({ title: 'Forged 1' });
    const genuine = (await h.call('/concerts?limit=1')).body.nextCursor as string;
    const [createdAt, id] = JSON.parse(Buffer.from(genuine, 'base64url').toString()) as [string, string];
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const forged: [string, string][] = [
      ['month 13', cursor([createdAt.replace(/^(\d{4})-\d{2}/, '$1-13'), id])],
      ['30 February', cursor(['2026-02-30 10:00:00+00', id])],
      ['hour 25', cursor(['2026-11-21 25:00:00+00', id])],
      ['an offset beyond ±15:59', cursor(['2026-11-21 10:00:00+16', id])],
      ['year 0000', cursor(['0000-01-01 00:00:00+00', id])],
      ['a number for the time', cursor([Date.now(), id])],
      ['an id that is not a uuid', cursor([createdAt, 'not-a-uuid'])],
      ['an extra part', cursor([createdAt, id, 'extra'])],
      ['an object with extra fields', cursor({ 0: createdAt, 1: id, admin: true })],
      ['base64 of something else', Buffer.from('not json').toString('base64url')],
      ['not base64url', `${genuine.slice(0, 8)}.${genuine.slice(8)}`],
    ];
    for (const [label, value] of forged) {
      const res = await h.call(`/concerts?limit=1&cursor=${encodeURIComponent(value)}`);
      expect([label, res.status, res.contentType.split(';')[0], res.body.code]).toEqual([label, 400, 'application/problem+json', 'VALIDATION_FAILED']);
      expect(res.body).toMatchObject({ status: 400, detail: expect.stringContaining('query.cursor') });
    }
    // The genuine cursor still pages on.
    expect((await h.call(`/concerts?limit=1&cursor=${genuine}`)).status).toBe(200);
  });

  it('lists a date exactly while its booking window is open: from its opening, until its closing', async () => {
    const concertId = await h.createConcert();
    const now = Date.now();
    const justOpened = await h.createSchedule(concertId, { bookingOpensAt: new Date(now - 2_000).toISOString() });
    const closingSoon = await h.createSchedule(concertId, { bookingClosesAt: new Date(now + 30_000).toISOString() });
    await h.createSchedule(concertId, { bookingOpensAt: new Date(now + 30_000).toISOString() }); // half a minute to go
    await h.createSchedule(concertId, { bookingOpensAt: new Date(now - HOUR).toISOString(), bookingClosesAt: new Date(now - 2_000).toISOString() });
    const listed = await h.call(`/concerts/${concertId}/schedules`, { as: { access: 'user', userId: randomUUID() } });
    expect(listed.status).toBe(200);
    expect((listed.body.schedules as { scheduleId: string }[]).map((s) => s.scheduleId).sort()).toEqual([justOpened, closingSoon].sort());
  });

  it('lists only bookable schedules with availableSeats, and seats with status and price but no user ids', async () => {
    const concertId = await h.createConcert();
    const now = Date.now();
    const open = await h.createSchedule(concertId, { seatCount: 50, priceSections: [{ fromSeat: 1, toSeat: 20, price: 120_000 }, { fromSeat: 21, toSeat: 50, price: 90_000 }] });
    await h.createSchedule(concertId, { startsAt: new Date(now + 30 * 24 * HOUR).toISOString(), bookingOpensAt: new Date(now + 24 * HOUR).toISOString(), bookingClosesAt: new Date(now + 29 * 24 * HOUR).toISOString() });
    await h.createSchedule(concertId, { startsAt: new Date(now - HOUR).toISOString(), bookingOpensAt: new Date(now - 48 * HOUR).toISOString(), bookingClosesAt: new Date(now - 2 * HOUR).toISOString() });
    const soldOut = await h.createSchedule(concertId, { seatCount: 2 });
    const before = await h.call(`/concerts/${concertId}/schedules`, { as: { access: 'user', userId: randomUUID() } });
    expect(before.status).toBe(200);
    expect((before.body.schedules as { scheduleId: string }[]).map((s) => s.scheduleId).sort()).toEqual([open, soldOut].sort());

    // The reservation service reports: a hold on seat 3 and a sale on seat 7 of `open`; both seats of `soldOut` sold.
    const holder = randomUUID();
    const events = [
      seatEvent('reservation.held', { scheduleId: open, seatNo: 3, seatVersion: 1, userId: holder }),
      seatEvent('reservation.held', { scheduleId: open, seatNo: 7, seatVersion: 1, userId: holder }),
      seatEvent('reservation.confirmed', { scheduleId: open, seatNo: 7, seatVersion: 2, userId: holder }),
      seatEvent('reservation.confirmed', { scheduleId: soldOut, seatNo: 1, seatVersion: 2 }),
      seatEvent('reservation.confirmed', { scheduleId: soldOut, seatNo: 2, seatVersion: 2 }),
    ];
    const seen = h.processed.length;
    await h.deliver(events);
    await h.waitProcessed(seen + events.length);

    const after = await h.call(`/concerts/${concertId}/schedules`, { as: { access: 'user', userId: randomUUID() } });
    expect(after.body).toEqual({
      concertId,
      schedules: [
        {
          scheduleId: open,
          concertId,
          startsAt: expect.any(String),
          bookingOpensAt: expect.any(String),
          bookingClosesAt: expect.any(String),
          seatCount: 50,
          availableSeats: 48,
          minPrice: 90_000,
          maxPrice: 120_000,
        },
      ],
    });

    const seats = await h.call(`/schedules/${open}/seats`, { as: { access: 'active', userId: randomUUID(), sale: { concertId, ticket: 1 } } });
    expect(seats.status).toBe(200);
    expect(seats.body.scheduleId).toBe(open);
    expect(seats.body.concertId).toBe(concertId);
    const list = seats.body.seats as { seatNo: number; status: string; price: number }[];
    expect(list.map((s) => s.seatNo)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(list[2]).toEqual({ seatNo: 3, status: 'HELD', price: 120_000 });
    expect(list[6]).toEqual({ seatNo: 7, status: 'SOLD', price: 120_000 });
    expect(list[30]).toEqual({ seatNo: 31, status: 'AVAILABLE', price: 90_000 });
    expect(list.filter((s) => s.status === 'AVAILABLE')).toHaveLength(48);
    expect(JSON.stringify(seats.body)).not.toContain(holder);
    expect(Object.keys(list[2]).sort()).toEqual(['price', 'seatNo', 'status']);
  });

  it('answers unknown ids with 404 and malformed ids with 400, as problem+json', async () => {
    const cases: [string, number, string][] = [
      [`/concerts/${randomUUID()}/schedules`, 404, 'NOT_FOUND'],
      ['/concerts/not-a-uuid/schedules', 400, 'VALIDATION_FAILED'],
      [`/schedules/${randomUUID()}/seats`, 404, 'NOT_FOUND'],
      ['/schedules/42/seats', 400, 'VALIDATION_FAILED'],
    ];
    for (const [pathname, status, code] of cases) {
      const res = await h.call(pathname, { as: { access: 'active', userId: randomUUID() } });
      expect({ pathname, status: res.status, code: res.body.code }).toEqual({ pathname, status, code });
      expect(res.contentType).toContain('application/problem+json');
    }
  });

  describe('refuses bad input and changes nothing', () => {
    let concertId: string;
    beforeAll(async () => {
      concertId = await h.createConcert();
    });

    const w = openWindow();
    const badSchedules: [string, Record<string, unknown>][] = [
      ['booking closing before it opens', { ...w, bookingClosesAt: new Date(Date.parse(w.bookingOpensAt) - HOUR).toISOString(), price: 1000 }],
      ['booking closing after the show starts', { ...w, bookingClosesAt: new Date(Date.parse(w.startsAt) + HOUR).toISOString(), price: 1000 }],
      ['overlapping sections', { ...w, priceSections: [{ fromSeat: 1, toSeat: 30, price: 1 }, { fromSeat: 30, toSeat: 50, price: 2 }] }],
      ['sections leaving a gap', { ...w, priceSections: [{ fromSeat: 1, toSeat: 20, price: 1 }, { fromSeat: 22, toSeat: 50, price: 2 }] }],
      ['sections not covering every seat', { ...w, seatCount: 60, priceSections: [{ fromSeat: 1, toSeat: 50, price: 1 }] }],
      ['a non-integer price', { ...w, price: 1000.5 }],
      ['a price as a string', { ...w, price: '1000' }],
      ['a negative price', { ...w, price: -1 }],
      ['no price at all', { ...w }],
      ['both price and sections', { ...w, price: 1, priceSections: [{ fromSeat: 1, toSeat: 50, price: 1 }] }],
      ['zero seats', { ...w, seatCount: 0, price: 1 }],
      ['a fractional seat count', { ...w, seatCount: 2.5, price: 1 }],
      ['a date that is not a date', { ...w, startsAt: 'next friday', price: 1 }],
      ['an unknown field', { ...w, price: 1, userId: randomUUID() }],
    ];
    it.each(badSchedules)('a schedule with %s → 400', async (_label, body) => {
      const res = await h.call(`/admin/concerts/${concertId}/schedules`, { method: 'POST', as: h.admin, body });
      expect(res.status).toBe(400);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', detail: expect.any(String) });
      expect(await h.db('schedules').where({ concert_id: concertId }).count<{ n: number }[]>({ n: '*' }).first()).toEqual({ n: 0 });
    });

    it.each([
      ['no title', { artist: 'a', venue: 'v' }],
      ['a blank title', { title: '  ', artist: 'a', venue: 'v' }],
      ['a number for the venue', { title: 't', artist: 'a', venue: 7 }],
    ])('a concert with %s → 400', async (_label, body) => {
      const before = await h.count('concerts');
      const res = await h.call('/admin/concerts', { method: 'POST', as: h.admin, body });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(await h.count('concerts')).toBe(before);
    });

    it('malformed JSON → 400 MALFORMED_JSON', async () => {
      const res = await h.call(`/admin/concerts/${concertId}/schedules`, { method: 'POST', as: h.admin, rawBody: '{"price": 1,' });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('MALFORMED_JSON');
    });

    it('a schedule for an unknown concert → 404, and no event is written', async () => {
      const outboxBefore = await h.count('outbox');
      const res = await h.call(`/admin/concerts/${randomUUID()}/schedules`, { method: 'POST', as: h.admin, body: { ...w, price: 1000 } });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('NOT_FOUND');
      expect(await h.count('outbox')).toBe(outboxBefore);
    });

    it('wrote no schedule, seat or event for any refused request', async () => {
      expect(await h.db('schedules').where({ concert_id: concertId }).count<{ n: number }[]>({ n: '*' }).first()).toEqual({ n: 0 });
      const published = await h.db('outbox').whereRaw("envelope->'payload'->>'concertId' = ?", [concertId]).count<{ n: number }[]>({ n: '*' }).first();
      expect(published).toEqual({ n: 0 });
    });
  });

  it('refuses admin routes to non-admin callers (403 ADMIN_REQUIRED) and writes nothing', async () => {
    const concertId = await h.createConcert();
    const before = { concerts: await h.count('concerts'), schedules: await h.count('schedules') };
    for (const as of [{ access: 'public' as const }, { access: 'user' as const, userId: randomUUID() }, { access: 'active' as const, userId: randomUUID() }]) {
      const a = await h.call('/admin/concerts', { method: 'POST', as, body: { title: 't', artist: 'a', venue: 'v' } });
      const b = await h.call(`/admin/concerts/${concertId}/schedules`, { method: 'POST', as, body: { ...openWindow(), price: 1000 } });
      for (const res of [a, b]) {
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('ADMIN_REQUIRED');
        expect(res.contentType).toContain('application/problem+json');
      }
    }
    expect({ concerts: await h.count('concerts'), schedules: await h.count('schedules') }).toEqual(before);
  });

  it('refuses calls that did not come through the gateway with 401 INTERNAL_AUTH_REQUIRED', async () => {
    const concertId = await h.createConcert();
    const before = await h.count('concerts');
    const attempts = [
      await h.call('/concerts', { as: null }),
      await h.call('/admin/concerts', { method: 'POST', as: null, body: { title: 't', artist: 'a', venue: 'v' } }),
      await h.call('/admin/concerts', { method: 'POST', as: h.admin, secret: 'not-the-gateway-secret-0123456789abcdef', body: { title: 't', artist: 'a', venue: 'v' } }),
      await h.call(`/admin/concerts/${concertId}/schedules`, { method: 'POST', as: null, body: { ...openWindow(), price: 1000 } }),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('INTERNAL_AUTH_REQUIRED');
    }
    expect(await h.count('concerts')).toBe(before);
  });
});
