import { deleteTaggedKeys, testServers, uniqueName } from '@ticketing/testing';
import Redis from 'ioredis';
import { createHash, randomUUID } from 'node:crypto';
import { userMember } from '../src/waiting-room/waiting-room.scripts';
import { createWaitingRoom, type RoomSale, type WaitingRoom } from '../src/waiting-room/waiting-room.repository';
import { entered, openSale } from './room.fixture';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const LEASE = 60 * SECOND;
const T0 = Date.parse('2026-12-05T09:00:00Z');

/** Spearman's rank correlation of two equally long lists without ties. */
function spearman(xs: number[], ys: number[]): number {
  const rank = (vs: number[]) => {
    const order = vs.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
    const r = new Array<number>(vs.length);
    order.forEach(([, i], k) => (r[i] = k));
    return r;
  };
  const [rx, ry] = [rank(xs), rank(ys)];
  const n = xs.length;
  const d2 = rx.reduce((sum, r, i) => sum + (r - ry[i]) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

describe('sales: a waiting room per concert, a fair opening, admission by rate and cap (real Redis, a hand-moved clock)', () => {
  const clients: Redis[] = [];
  const prefixes: string[] = [];
  const clock = { now: T0 };

  function connect(): Redis {
    const redis = new Redis(testServers().REDIS_URL);
    clients.push(redis);
    return redis;
  }

  /** A room for one sale: `instances` gateways on it, the sale stored. */
  async function saleRoom(sale: Partial<RoomSale>, instances = 1): Promise<WaitingRoom[]> {
    const keyPrefix = uniqueName('sale');
    prefixes.push(keyPrefix);
    const rooms = Array.from({ length: instances }, () => createWaitingRoom({ redis: connect(), keyPrefix, waitingLeaseMs: LEASE, now: () => clock.now }));
    expect(await rooms[0].configure(openSale(sale))).toBe(true);
    return rooms;
  }

  beforeEach(() => (clock.now = T0));
  afterEach(async () => {
    const redis = connect();
    for (const prefix of prefixes.splice(0)) await deleteTaggedKeys(redis, prefix);
    await Promise.all(clients.splice(0).map((c) => c.quit()));
  });

  it('keeps two rooms side by side independent: tickets, positions, admission and ETA', async () => {
    const [a] = await saleRoom({ maxActive: 2, admitPerMinute: 60 });
    const [b] = await saleRoom({ maxActive: 5, admitPerMinute: 600 });
    const fans = Array.from({ length: 10 }, () => randomUUID());
    const inA = await Promise.all(fans.map(async (id) => entered(await a.enter(id))));
    const inB = [];
    for (const id of [...fans].reverse()) inB.push(entered(await b.enter(id)));
    // One place per user per room, each room with its own sequence.
    expect(inA.map((e) => e.ticket).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(inB.map((e) => e.ticket)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect((await b.status(fans[9], 1)).status).toBe('WAITING');
    expect(await a.status(fans[9], inA[9].ticket)).toMatchObject({ status: 'WAITING', position: inA[9].ticket });

    // The configured rates set the ETA before anything is measured: 1/s in a, 10/s in b.
    expect(await a.status(fans[0], inA[0].ticket)).toMatchObject({ etaSeconds: Math.max(1, inA[0].ticket) });
    expect(await b.status(fans[0], 10)).toMatchObject({ position: 10, etaSeconds: 1 });

    clock.now += SECOND;
    expect((await a.admit()).admitted).toBe(2); // a: its cap (3 s' worth of 1 a second banked since the opening)
    expect((await b.admit()).admitted).toBe(5); // b: its cap
    expect((await a.stats()).active).toBe(2);
    expect((await b.stats()).active).toBe(5);
    // Admission in one room says nothing of the other: fans[9] is active in b (ticket 1), waiting in a.
    expect((await b.status(fans[9], 1)).status).toBe('ACTIVE');
    expect((await a.status(fans[9], inA[9].ticket)).status).toBe(inA[9].ticket <= 2 ? 'ACTIVE' : 'WAITING');
  });

  it('refuses entry without a sale and before the pre-queue opens, with the opening time', async () => {
    const keyPrefix = uniqueName('sale');
    prefixes.push(keyPrefix);
    const bare = createWaitingRoom({ redis: connect(), keyPrefix, waitingLeaseMs: LEASE, now: () => clock.now });
    expect(await bare.enter(randomUUID())).toEqual({ refused: 'NO_SALE' });
    const [room] = await saleRoom({ queueOpensAt: T0 + MINUTE, saleOpensAt: T0 + 2 * MINUTE });
    expect(await room.enter(randomUUID())).toEqual({ refused: 'NOT_OPEN', queueOpensAt: T0 + MINUTE });
    expect((await room.stats()).waiting).toBe(0);
  });

  it('draws the pre-queue of 2,000 fans in a random order unrelated to arrival, then queues later arrivals strictly in arrival order', async () => {
    const opensAt = T0 + MINUTE;
    const [a, b] = await saleRoom({ queueOpensAt: T0, saleOpensAt: opensAt, maxActive: 10, admitPerMinute: 600 }, 2);
    const early = Array.from({ length: 2_000 }, () => randomUUID());
    const pre: number[] = [];
    for (let i = 0; i < early.length; i++) {
      clock.now = T0 + i * 10; // arrivals spread over 20 s of the pre-queue
      const entry = entered(await (i % 2 ? a : b).enter(early[i]));
      expect(entry).toMatchObject({ status: 'PRE_QUEUE', opensAt });
      pre.push(entry.ticket);
    }
    // Waiting for the opening, as a fan's page polls (or holds a stream): the lease stays fresh.
    clock.now = opensAt - 30 * SECOND;
    await Promise.all(early.map((id, i) => (i % 2 ? b : a).resolvePreQueue(id, pre[i])));
    // Asking again in the pre-queue gives the same entry, no place yet; nobody is admitted before the opening.
    expect(await a.enter(early[5])).toEqual({ ticket: pre[5], status: 'PRE_QUEUE', opensAt });
    expect((await a.admit()).admitted).toBe(0);
    expect(await a.resolvePreQueue(early[5], pre[5])).toEqual({ status: 'PRE_QUEUE', opensAt });
    // One fan leaves the pre-queue: that entry is gone and takes no place in the draw.
    expect(await b.leavePreQueue(early[7], pre[7])).toBe(true);
    expect(await a.resolvePreQueue(early[7], pre[7])).toEqual({ status: 'EXPIRED' });

    clock.now = opensAt + 5; // the first call after the opening makes the draw, atomically
    const late = Array.from({ length: 200 }, () => randomUUID());
    const lateEntries = [];
    for (const id of late) lateEntries.push(entered(await (lateEntries.length % 2 ? b : a).enter(id)));

    const remaining = early.filter((_, i) => i !== 7);
    const drawn = await Promise.all(remaining.map(async (id, i) => {
      const resolved = await (i % 2 ? a : b).resolvePreQueue(id, pre[early.indexOf(id)]);
      if (resolved.status !== 'DRAWN') throw new Error(`not drawn: ${JSON.stringify(resolved)}`);
      return resolved.ticket;
    }));
    // Everyone of the pre-queue got a distinct place ahead of every later arrival...
    expect(new Set(drawn).size).toBe(remaining.length);
    const lastDrawn = Math.max(...drawn);
    expect(Math.min(...lateEntries.map((e) => e.ticket))).toBeGreaterThan(lastDrawn);
    // ...in an order unrelated to when they arrived...
    const rho = spearman(remaining.map((_, i) => i), drawn);
    expect(Math.abs(rho)).toBeLessThan(0.1);
    // ...and those who came after the opening queue strictly in arrival order, behind them.
    const lateTickets = lateEntries.map((e) => e.ticket);
    expect(lateTickets).toEqual([...lateTickets].sort((x, y) => x - y));
    expect(lateEntries.map((e) => (e.status === 'WAITING' ? e.position : 0))).toEqual(lateTickets.map((_, i) => remaining.length + i + 1));

    // The draw is recorded and can be recomputed: ascending sha1(seed || user id bytes).
    const { draw } = await a.describe();
    expect(draw).toMatchObject({ drawnAt: opensAt + 5, drawn: remaining.length, lapsed: 0, firstTicket: Math.min(...drawn) });
    const recomputed = [...remaining].sort((x, y) => {
      const hx = createHash('sha1').update(Buffer.concat([Buffer.from(draw!.seed), userMember(x)])).digest('hex');
      const hy = createHash('sha1').update(Buffer.concat([Buffer.from(draw!.seed), userMember(y)])).digest('hex');
      return hx < hy ? -1 : 1;
    });
    const byTicket = [...remaining].sort((x, y) => drawn[remaining.indexOf(x)] - drawn[remaining.indexOf(y)]);
    expect(byTicket).toEqual(recomputed);
  }, 120_000);

  it('leaves out of the draw pre-queue entries whose lease lapsed, and keeps a drawn place for a fan asking again', async () => {
    const opensAt = T0 + 5 * MINUTE;
    const [room] = await saleRoom({ queueOpensAt: T0, saleOpensAt: opensAt });
    const [kept, lapsed] = [randomUUID(), randomUUID()];
    const k = entered(await room.enter(kept));
    const l = entered(await room.enter(lapsed));
    for (let t = T0 + 30 * SECOND; t < opensAt; t += 30 * SECOND) {
      clock.now = t;
      expect((await room.resolvePreQueue(kept, k.ticket)).status).toBe('PRE_QUEUE'); // polls; the other does not
    }
    clock.now = opensAt;
    await room.admit();
    expect(await room.resolvePreQueue(lapsed, l.ticket)).toEqual({ status: 'EXPIRED' });
    const resolved = await room.resolvePreQueue(kept, k.ticket);
    expect(resolved).toMatchObject({ status: 'DRAWN' });
    expect((await room.describe()).draw).toMatchObject({ drawn: 1, lapsed: 1 });
    // Entering again after the draw returns the drawn place (as a plain ticket now).
    const again = entered(await room.enter(kept));
    expect(again.ticket).toBe((resolved as { ticket: number }).ticket);
  });

  it('admits within ±5% of admitPerMinute over a minute while two gateways tick, however many slots are free', async () => {
    const [a, b] = await saleRoom({ maxActive: 100_000, admitPerMinute: 600 }, 2);
    const fans = Array.from({ length: 1_500 }, () => randomUUID());
    const tickets = await Promise.all(fans.map(async (id, i) => entered(await (i % 2 ? a : b).enter(id)).ticket));
    clock.now = T0 + 10 * SECOND; // the budget banks at most 3 s' worth while nobody ticks
    let admitted = 0;
    const start = clock.now;
    for (let tick = 0; clock.now < start + MINUTE; tick++) {
      // The two gateways tick at their own, uneven moments.
      clock.now += tick % 3 === 0 ? 130 : 270;
      admitted += (await (tick % 2 ? a : b).admit()).admitted;
      // Keep every waiter's lease fresh as polling would.
      if (tick % 100 === 0) await a.statusMany(fans.map((userId, i) => ({ userId, ticket: tickets[i] })), { withPosition: false });
    }
    // 600 over the minute, plus at most the 3 s (30) banked before it.
    expect(admitted).toBeGreaterThanOrEqual(570);
    expect(admitted).toBeLessThanOrEqual(630);
  }, 60_000);

  it('loses no admission budget when ticks come late, and banks no more than 3 s of it while idle', async () => {
    const [room] = await saleRoom({ maxActive: 100_000, admitPerMinute: 600 });
    const fans = Array.from({ length: 1_500 }, () => randomUUID());
    const tickets = await Promise.all(fans.map(async (id) => entered(await room.enter(id)).ticket));
    clock.now = T0 + 50 * SECOND; // 50 s without a tick: at most 3 s' worth (30) comes at once
    expect((await room.admit()).admitted).toBe(30);
    // Ticks every 2.5 s (a busy machine): each admits what 2.5 s allow, nothing lost.
    let admitted = 0;
    for (let i = 0; i < 24; i++) {
      clock.now += 2_500;
      admitted += (await room.admit()).admitted;
      await room.statusMany(fans.map((userId, j) => ({ userId, ticket: tickets[j] })), { withPosition: false });
    }
    expect(admitted).toBe(600);
  }, 60_000);

  it('passthrough admits at once below the cap and queues above it, admitting from the line as slots free', async () => {
    const [room] = await saleRoom({ mode: 'passthrough', maxActive: 3, admitPerMinute: 1 });
    const fans = Array.from({ length: 5 }, () => randomUUID());
    const entries = [];
    for (const id of fans) entries.push(entered(await room.enter(id)));
    expect(entries.map((e) => e.status)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'WAITING', 'WAITING']);
    expect(entries[3]).toMatchObject({ position: 1 });
    expect(await room.expireTicket(fans[0], entries[0].ticket)).toBe(true);
    expect(await room.expireTicket(fans[1], entries[1].ticket)).toBe(true);
    // Passthrough fills free slots at once, whatever the rate setting.
    expect((await room.admit()).admitted).toBe(2);
    expect((await room.status(fans[4], entries[4].ticket)).status).toBe('ACTIVE');
    // While someone waits, a newcomer queues even when a slot is free.
    expect(await room.expireTicket(fans[2], entries[2].ticket)).toBe(true);
    await room.enter(randomUUID()).then((e) => expect(e).toMatchObject({ status: 'ACTIVE' }));
  });

  it('answers 503 SERVICE_UNAVAILABLE, not an error, once a room has handed out its last ticket (2^32)', async () => {
    const [room] = await saleRoom({});
    await connect().set(room.keys.seq, 4_294_967_295);
    await expect(room.enter(randomUUID())).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect((await room.stats()).waiting).toBe(0);
  });

  it('keeps the newest sale: an older or repeated revision changes nothing', async () => {
    const [room] = await saleRoom({ revision: 2, maxActive: 7 });
    expect(await room.configure(openSale({ revision: 1, maxActive: 1 }))).toBe(false);
    expect(await room.configure(openSale({ revision: 2, maxActive: 1 }))).toBe(false);
    expect((await room.describe()).sale).toMatchObject({ revision: 2, maxActive: 7 });
    expect(await room.configure(openSale({ revision: 3, maxActive: 9 }))).toBe(true);
    expect((await room.describe()).sale).toMatchObject({ revision: 3, maxActive: 9 });
  });
});
