import { callsBetween, commandCalls, deleteTaggedKeys, startPrivateRedis, testServers, type PrivateRedis, uniqueName } from '@ticketing/testing';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { CHECKPOINT_GRIDS, positionUpperBound } from '../src/waiting-room/room-snapshot';
import { createRoomView, type RoomView } from '../src/waiting-room/room-view';
import { createTestRoom, type TestRoom, type TestRoomOptions } from './room.fixture';
import { userMember } from '../src/waiting-room/waiting-room.scripts';

const SECOND = 1_000;
const LEASE = 60 * SECOND;
const total = (calls: Record<string, number>) => Object.entries(calls).reduce((sum, [name, n]) => (name === 'info' ? sum : sum + n), 0);

describe('room view: polls and streams answered from a per-process snapshot (real Redis)', () => {
  const clients: Redis[] = [];
  const prefixes: string[] = [];
  let privateRedis: PrivateRedis | undefined;

  function connect(url = testServers().REDIS_URL): Redis {
    const redis = new Redis(url);
    clients.push(redis);
    return redis;
  }

  /** A room on its own key prefix, a hand-moved clock, and gateway processes (room + view) on it. */
  function setup(overrides: Partial<TestRoomOptions> = {}, url?: string) {
    const keyPrefix = uniqueName('wr');
    prefixes.push(keyPrefix);
    const clock = { now: Date.parse('2026-12-01T10:00:00Z') };
    const now = () => clock.now;
    const options = { keyPrefix, maxActive: 10, activeTtlMs: 300 * SECOND, waitingLeaseMs: LEASE, now, ...overrides };
    let ready: Promise<unknown> | undefined;
    const gateway = () => {
      const room = createTestRoom({ redis: connect(url), ...options }, ready);
      ready = room.ready;
      return { room, view: createRoomView({ room, waitingLeaseMs: options.waitingLeaseMs, now }) };
    };
    return { gateway, clock, keyPrefix, redis: connect(url) };
  }

  afterEach(async () => {
    const redis = new Redis(testServers().REDIS_URL);
    for (const prefix of prefixes.splice(0)) await deleteTaggedKeys(redis, prefix);
    redis.disconnect();
    clients.splice(0).forEach((c) => c.disconnect());
    await privateRedis?.stop();
    privateRedis = undefined;
  });

  async function lineUp(room: TestRoom, n: number) {
    const fans: { userId: string; ticket: number }[] = [];
    for (let i = 0; i < n; i += 5_000) {
      const ids = Array.from({ length: Math.min(5_000, n - i) }, () => randomUUID());
      const entries = await Promise.all(ids.map((id) => room.enter(id)));
      entries.forEach((e, j) => fans.push({ userId: ids[j], ticket: e.ticket }));
    }
    return fans;
  }

  it('never shows a waiting fan a position below the truth, and never a higher one later, while fans leave, lapse and are admitted across two gateways', async () => {
    const { gateway, clock, keyPrefix, redis } = setup({ maxActive: 40 });
    const [a, b] = [gateway(), gateway()];
    const fans = await lineUp(a.room, 3_000);
    const line = `{${keyPrefix}}:line`;
    const lastBound = new Map<number, number>();
    const lastShown = new Map<number, number>();
    let shownChecked = 0;
    let violations: string[] = [];
    let checked = 0;
    let gaps = 0;
    for (let round = 0; round < 24; round++) {
      // Some waiting fans leave, some active ones pay, some stop polling (their leases lapse later).
      const present = fans.filter(() => Math.random() < 0.05);
      await Promise.all(present.map((f, i) => (i % 2 ? a.room.leave(f.userId, f.ticket) : b.room.expireTicket(f.userId, f.ticket))));
      gaps += present.length;
      clock.now += 5 * SECOND;
      const ticker: RoomView = round % 2 ? a.view : b.view;
      await ticker.admit();
      const snapshot = ticker.snapshot()!;
      // Most fans poll, through either gateway (a poll renews the lease at most once per half lease);
      // every eleventh never polls, so their leases lapse and admission or the sweep drops them.
      const polling = fans.filter((f) => f.ticket % 11 !== 0 && f.ticket % 7 !== round % 7);
      const views = [a.view, b.view];
      const shown = await Promise.all(polling.map((f) => views[f.ticket % 2].status(f.userId, f.ticket)));
      const ranks = new Map<number, number | null>();
      await Promise.all(fans.map(async (f) => ranks.set(f.ticket, await redis.zrank(line, userMember(f.userId)))));
      fans.forEach((f) => {
        const rank = ranks.get(f.ticket);
        if (rank === null || rank === undefined) return;
        const bound = positionUpperBound(snapshot, f.ticket);
        checked++;
        if (bound === undefined || bound < rank + 1) violations.push(`ticket ${f.ticket}: bound ${bound}, truly ${rank + 1}`);
        if (bound !== undefined && bound > (lastBound.get(f.ticket) ?? Infinity)) violations.push(`ticket ${f.ticket}: bound ${lastBound.get(f.ticket)} then ${bound}`);
        if (bound !== undefined) lastBound.set(f.ticket, bound);
      });
      // What each gateway showed: never below the truth (read after the poll, so it can only be lower), never rising.
      shown.forEach((place, i) => {
        const f = polling[i];
        const rank = ranks.get(f.ticket);
        if (place.status !== 'WAITING' || rank === null || rank === undefined) return;
        if (place.position < rank + 1) violations.push(`ticket ${f.ticket}: shown ${place.position}, truly ${rank + 1}`);
        if (place.position > (lastShown.get(f.ticket) ?? Infinity)) violations.push(`ticket ${f.ticket}: shown ${lastShown.get(f.ticket)} then ${place.position}`);
        lastShown.set(f.ticket, place.position);
        shownChecked++;
      });
      violations = violations.slice(0, 20);
    }
    expect(violations).toEqual([]);
    expect(checked).toBeGreaterThan(20_000);
    expect(shownChecked).toBeGreaterThan(20_000);
    expect(gaps).toBeGreaterThan(1_000); // the line really had holes, so the bound was not trivially exact
    // The bound is close: with holes in the line it is still within one fine grid spacing near the head.
    const snapshot = a.view.snapshot()!;
    const head = await redis.zrange(line, 0, 50, 'WITHSCORES');
    for (let i = 0; i < head.length; i += 2) {
      const ticket = Math.floor(Number(head[i + 1]));
      expect(positionUpperBound(snapshot, ticket)! - (i / 2 + 1)).toBeLessThanOrEqual(CHECKPOINT_GRIDS[0].spacing);
    }
  });

  it('answers polls of remembered fans without Redis, renews each lease at most once per half lease, and keeps every polling fan in line', async () => {
    privateRedis = await startPrivateRedis();
    const { gateway, clock, redis } = setup({ maxActive: 0 }, privateRedis.url);
    const { room, view } = gateway();
    const fans = await lineUp(room, 1_000);
    await view.admit();
    await Promise.all(fans.map((f) => view.status(f.userId, f.ticket))); // first poll at this process: one look-up each

    view.resetCounters();
    const before = await commandCalls(redis);
    // Two minutes of polling every 5 s (a lease is 60 s), with an admission tick every second.
    for (let second = 1; second <= 120; second++) {
      clock.now += SECOND;
      if (second % 5 === 0) {
        const places = await Promise.all(fans.map((f) => view.status(f.userId, f.ticket)));
        expect(places.every((p) => p.status === 'WAITING')).toBe(true);
      }
      await view.admit();
    }
    await new Promise((r) => setTimeout(r, 100)); // the last batch of renewals is answered
    const calls = callsBetween(before, await commandCalls(redis));
    const counters = view.counters();
    expect(counters.answeredFromSnapshot).toBe(24 * 1_000);
    expect(counters.lookedUp).toBe(0);
    // A renewal per fan per 30 s at most: 120 s → at most 4 each, and in batches, not one call per fan.
    expect(counters.renewed).toBeLessThanOrEqual(4 * 1_000);
    expect(counters.renewed).toBeGreaterThanOrEqual(3 * 1_000);
    expect(calls.zadd ?? 0).toBe(counters.renewed);
    expect(calls.evalsha).toBeLessThan(120 + 4 * 10); // the ticks, plus a handful of batched renewal calls
    // Nobody who kept polling lost the place.
    const stats = await room.stats();
    expect(stats.waiting).toBe(1_000);
  });

  it("keeps an admission tick's Redis commands bounded by its grids and slice, not by the number waiting (INFO commandstats at 1,000, 100,000 and 200,000 waiting)", async () => {
    privateRedis = await startPrivateRedis();
    const sweep = { min: 1_000, max: 2_000 };
    const perTick = async (waiting: number) => {
      const { gateway, redis } = setup({ maxActive: 0, sweepBatch: sweep }, privateRedis!.url);
      const { room, view } = gateway();
      await lineUp(room, waiting);
      await view.admit();
      const before = await commandCalls(redis);
      for (let i = 0; i < 10; i++) await view.admit();
      const calls = callsBetween(before, await commandCalls(redis));
      await redis.flushall();
      return { total: total(calls) / 10, calls };
    };
    const small = await perTick(1_000);
    const large = await perTick(100_000);
    const larger = await perTick(200_000);
    const gridPoints = CHECKPOINT_GRIDS.reduce((n, g) => n + g.count, 0);
    // Fixed work per tick (one script, a few reads and writes, one slice of the sweep), plus at most one
    // ZCOUNT per grid point: a ceiling that does not depend on how many wait.
    const ceiling = 30 + gridPoints;
    expect(small.total).toBeLessThanOrEqual(ceiling);
    expect(large.total).toBeLessThanOrEqual(ceiling);
    expect(larger.total).toBeLessThanOrEqual(ceiling);
    // Twice the line: at most the coarsest grid's extra points (one per 65,536 tickets), not 100,000 more of anything.
    expect(larger.total - large.total).toBeLessThanOrEqual(2);
    for (const run of [small, large, larger]) {
      expect(run.calls.evalsha / 10).toBe(1);
      expect(run.calls.zcount / 10).toBeLessThanOrEqual(gridPoints);
    }
  }, 120_000);

  it('learns of a fan who left through another gateway within one snapshot', async () => {
    const { gateway } = setup({ maxActive: 0 });
    const [a, b] = [gateway(), gateway()];
    const [x, y] = await lineUp(a.room, 2);
    await a.view.admit();
    expect(await a.view.status(y.userId, y.ticket)).toMatchObject({ status: 'WAITING', position: 2 });
    await b.room.leave(x.userId, x.ticket);
    await b.room.expireTicket(y.userId, y.ticket);
    await a.view.admit();
    expect(await a.view.status(x.userId, x.ticket)).toEqual({ status: 'EXPIRED' });
    expect(await a.view.status(y.userId, y.ticket)).toEqual({ status: 'EXPIRED' });
  });

  it('checks Redis before a lease could lapse: a fan silent past the lease reads EXPIRED, not the remembered place', async () => {
    const { gateway, clock } = setup({ maxActive: 0 });
    const { room, view } = gateway();
    const [fan] = await lineUp(room, 1);
    await view.admit();
    expect(await view.status(fan.userId, fan.ticket)).toMatchObject({ status: 'WAITING', position: 1 });
    clock.now += LEASE + 2 * SECOND;
    await view.admit();
    expect(await view.status(fan.userId, fan.ticket)).toEqual({ status: 'EXPIRED' });
  });
});
