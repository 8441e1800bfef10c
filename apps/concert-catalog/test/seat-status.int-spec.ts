import { waitFor } from '@ticketing/testing';
import { randomUUID } from 'node:crypto';
import { createCatalogHarness, seatEvent, type CatalogHarness, type DeliveredEvent, type SeatEvent } from './catalog.harness';

type Status = 'AVAILABLE' | 'HELD' | 'SOLD';

/** Where each event leaves a seat, and which events can follow a seat in each state. */
const AFTER: Record<SeatEvent, Status> = {
  'reservation.held': 'HELD',
  'reservation.cancelled': 'AVAILABLE',
  'hold.expired': 'AVAILABLE',
  'reservation.confirmed': 'SOLD',
};
const NEXT: Record<Status, SeatEvent[]> = {
  AVAILABLE: ['reservation.held'],
  HELD: ['reservation.cancelled', 'hold.expired', 'reservation.confirmed'],
  SOLD: [],
};

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];
function shuffle<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

describe('concert-catalog: seat status read model (real PostgreSQL and Kafka)', () => {
  let h: CatalogHarness;
  beforeAll(async () => {
    h = await createCatalogHarness('catalog_seats');
  });
  afterAll(() => h?.cleanup());

  async function statuses(scheduleId: string): Promise<Record<number, { status: Status; version: number }>> {
    const rows: { seat_no: number; status: Status; version: number }[] = await h.db('seat_statuses').where({ schedule_id: scheduleId }).select('seat_no', 'status', 'version');
    return Object.fromEntries(rows.map((r) => [r.seat_no, { status: r.status, version: r.version }]));
  }

  it('converges to the latest seat versions after a burst delivered duplicated and out of order', async () => {
    const concertId = await h.createConcert();
    const seatCount = 50;
    const scheduleId = await h.createSchedule(concertId, { seatCount });

    // Each seat's true history as the reservation service would write it: versions 1..k, legal moves only.
    const truth: Record<number, { status: Status; version: number }> = {};
    const history: DeliveredEvent[] = [];
    for (let seatNo = 1; seatNo <= seatCount; seatNo++) {
      let status: Status = 'AVAILABLE';
      let version = 0;
      const steps = seatNo % 10 === 0 ? 0 : 1 + Math.floor(Math.random() * 8); // every tenth seat never moves
      for (let s = 0; s < steps && NEXT[status].length; s++) {
        const type: SeatEvent = pick(NEXT[status]);
        version += 1;
        status = AFTER[type];
        history.push(seatEvent(type, { scheduleId, seatNo, seatVersion: version }));
      }
      truth[seatNo] = { status, version };
    }
    // At-least-once and unordered: about half the events arrive twice, and everything is shuffled.
    const deliveries = shuffle([...history, ...history.filter(() => Math.random() < 0.5)]);
    const lastDelivered = new Map<number, number>();
    for (const d of deliveries) lastDelivered.set((d.envelope.payload as { seatNo: number }).seatNo, (d.envelope.payload as { seatVersion: number }).seatVersion);
    // The test means something only if some seat's newest event did not arrive last.
    expect([...lastDelivered].some(([seatNo, v]) => v !== truth[seatNo].version)).toBe(true);

    const seen = h.processed.length;
    const appliedIds = () =>
      h.processed
        .slice(seen)
        .filter((p) => p.outcome === 'applied')
        .map((p) => p.event.id);
    await h.deliver(deliveries);
    // Kafka may deliver some again (a rebalance under load): wait for every event, however often it came.
    await waitFor(() => appliedIds().length >= history.length, { timeoutMs: 30_000, label: `${history.length} events applied` });
    await h.waitProcessed(seen + deliveries.length);

    expect(await statuses(scheduleId)).toEqual(truth);
    // Each event applied exactly once; every other arrival was recognised as a duplicate.
    expect(appliedIds().sort()).toEqual(history.map((d) => d.envelope.id).sort());

    const seats = await h.call(`/schedules/${scheduleId}/seats`, { as: { access: 'active', userId: randomUUID(), sale: { concertId, ticket: 1 } } });
    expect((seats.body.seats as { seatNo: number; status: Status }[]).map((s) => [s.seatNo, s.status])).toEqual(
      Array.from({ length: seatCount }, (_, i) => [i + 1, truth[i + 1].status]),
    );
    const available = Object.values(truth).filter((t) => t.status === 'AVAILABLE').length;
    const listing = await h.call(`/concerts/${concertId}/schedules`, { as: { access: 'user', userId: randomUUID() } });
    const listed = (listing.body.schedules as { scheduleId: string; availableSeats: number }[]).find((s) => s.scheduleId === scheduleId);
    if (available === 0) expect(listed).toBeUndefined();
    else expect(listed?.availableSeats).toBe(available);
  });

  it('ignores an event older than the version it already has', async () => {
    const concertId = await h.createConcert();
    const scheduleId = await h.createSchedule(concertId, { seatCount: 5 });
    let seen = h.processed.length;
    await h.deliver([seatEvent('reservation.confirmed', { scheduleId, seatNo: 2, seatVersion: 5 })]);
    await h.waitProcessed(seen + 1);
    expect((await statuses(scheduleId))[2]).toEqual({ status: 'SOLD', version: 5 });

    seen = h.processed.length;
    await h.deliver([
      seatEvent('reservation.held', { scheduleId, seatNo: 2, seatVersion: 3 }),
      seatEvent('hold.expired', { scheduleId, seatNo: 2, seatVersion: 4 }),
      seatEvent('reservation.cancelled', { scheduleId, seatNo: 2, seatVersion: 5 }), // same version: not newer either
    ]);
    await h.waitProcessed(seen + 3);
    expect((await statuses(scheduleId))[2]).toEqual({ status: 'SOLD', version: 5 });

    // A newer event still applies.
    seen = h.processed.length;
    await h.deliver([seatEvent('reservation.held', { scheduleId, seatNo: 3, seatVersion: 1 })]);
    await h.waitProcessed(seen + 1);
    expect((await statuses(scheduleId))[3]).toEqual({ status: 'HELD', version: 1 });
  });

  it('applies a re-delivered message (same id) once', async () => {
    const concertId = await h.createConcert();
    const scheduleId = await h.createSchedule(concertId, { seatCount: 3 });
    const held = seatEvent('reservation.held', { scheduleId, seatNo: 1, seatVersion: 1 });
    const seen = h.processed.length;
    await h.deliver([held, held, held]);
    await h.waitProcessed(seen + 3);
    const outcomes = h.processed.slice(seen).filter((p) => p.event.id === held.envelope.id).map((p) => p.outcome);
    // Applied once; the two copies (and any redelivery Kafka adds) are recognised as duplicates.
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate').length).toBeGreaterThanOrEqual(2);
    expect((await statuses(scheduleId))[1]).toEqual({ status: 'HELD', version: 1 });
  });

  it('a listing shows every applied change at once; an unchanged one answers its ETag with 304', async () => {
    const concertId = await h.createConcert();
    const scheduleId = await h.createSchedule(concertId, { seatCount: 4 });
    const as = { access: 'active' as const, userId: randomUUID(), sale: { concertId, ticket: 1 } };
    const list = () => h.call(`/schedules/${scheduleId}/seats`, { as });
    // fetch would add `cache-control: no-cache` to a conditional request (which forbids a 304) unless told otherwise.
    const revalidate = (tag: string) => h.call(`/schedules/${scheduleId}/seats`, { as, headers: { 'if-none-match': tag, 'cache-control': 'max-age=0' } });
    const statusesListed = (a: { body: Record<string, unknown> }) => (a.body.seats as { status: Status }[]).map((s) => s.status);

    const first = await list();
    expect(statusesListed(first)).toEqual(['AVAILABLE', 'AVAILABLE', 'AVAILABLE', 'AVAILABLE']);
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    expect((await list()).headers.get('etag')).toBe(etag);
    expect((await revalidate(etag!)).status).toBe(304);

    let seen = h.processed.length;
    await h.deliver([seatEvent('reservation.held', { scheduleId, seatNo: 2, seatVersion: 1 })]);
    await h.waitProcessed(seen + 1);
    const afterHold = await list();
    expect(statusesListed(afterHold)).toEqual(['AVAILABLE', 'HELD', 'AVAILABLE', 'AVAILABLE']);
    expect(afterHold.headers.get('etag')).not.toBe(etag);
    expect((await revalidate(etag!)).status).toBe(200);

    seen = h.processed.length;
    await h.deliver([seatEvent('hold.expired', { scheduleId, seatNo: 2, seatVersion: 2 }), seatEvent('reservation.held', { scheduleId, seatNo: 4, seatVersion: 1 })]);
    await h.waitProcessed(seen + 2);
    const later = await list();
    expect(statusesListed(later)).toEqual(['AVAILABLE', 'AVAILABLE', 'AVAILABLE', 'HELD']);
    expect(new Set([etag, afterHold.headers.get('etag'), later.headers.get('etag')]).size).toBe(3);
  });
});
