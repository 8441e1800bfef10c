import { deleteTaggedKeys, testServers, uniqueName, waitFor } from '@ticketing/testing';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { startAdmissionTicker } from '../src/waiting-room/admission-ticker';
import type { Place } from '../src/waiting-room/waiting-room.repository';
import { createTestRoom, type TestRoom, type TestRoomOptions } from './room.fixture';

const SECOND = 1_000;
const LEASE = 60 * SECOND;

describe('waiting room on a real Redis', () => {
  const clients: Redis[] = [];
  const prefixes: string[] = [];

  function connect(): Redis {
    const redis = new Redis(testServers().REDIS_URL);
    clients.push(redis);
    return redis;
  }

  /** A fresh room (own key prefix) and a clock the test moves by hand. */
  function setup(overrides: Partial<TestRoomOptions> = {}) {
    const keyPrefix = uniqueName('wr');
    prefixes.push(keyPrefix);
    const clock = { now: Date.parse('2026-11-21T10:00:00Z') };
    const options = { keyPrefix, maxActive: 2, activeTtlMs: 300 * SECOND, waitingLeaseMs: LEASE, now: () => clock.now, ...overrides };
    /** Another gateway instance: same room, its own connection. */
    let ready: Promise<unknown> | undefined;
    const gateway = (): TestRoom => {
      const room = createTestRoom({ redis: connect(), ...options }, ready);
      ready = room.ready;
      return room;
    };
    return { room: gateway(), gateway, clock, keyPrefix };
  }

  afterEach(async () => {
    const redis = connect();
    for (const prefix of prefixes.splice(0)) await deleteTaggedKeys(redis, prefix);
    await Promise.all(clients.splice(0).map((c) => c.quit()));
  });

  const users = (n: number) => Array.from({ length: n }, () => randomUUID());
  const position = (place: Place) => (place.status === 'WAITING' ? place.position : undefined);

  it('gives 1,000 concurrent arrivals on two gateways the tickets and positions 1..1000, and each the same place again', async () => {
    const { gateway } = setup();
    const [a, b] = [gateway(), gateway()];
    const ids = users(1_000);

    const entries = await Promise.all(ids.map((id, i) => (i % 2 ? a : b).enter(id)));
    const tickets = entries.map((e) => e.ticket);
    expect([...tickets].sort((x, y) => x - y)).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    // Nobody left or was admitted, so everyone's place at arrival was exactly the number of earlier tickets.
    for (const e of entries) expect(e).toMatchObject({ status: 'WAITING', position: e.ticket });

    const places = await Promise.all(ids.map((id, i) => (i % 2 ? b : a).status(id, tickets[i])));
    expect(places.map(position)).toEqual(tickets);

    // Asking again, concurrently, from either gateway: the same ticket and place, never the back of the line.
    const again = await Promise.all(ids.map((id, i) => (i % 3 ? a : b).enter(id)));
    expect(again.map((e) => e.ticket)).toEqual(tickets);
    expect(again.map((e) => (e.status === 'WAITING' ? e.position : 0))).toEqual(tickets);
    expect((await a.stats()).waiting).toBe(1_000);
  });

  it('admits strictly in ticket order and never more than maxActive while two gateways tick and users release slots', async () => {
    const maxActive = 50;
    const { gateway } = setup({ maxActive, now: Date.now });
    const rooms = [gateway(), gateway()];
    const ids = users(1_000);
    const entries = await Promise.all(ids.map((id, i) => rooms[i % 2].enter(id)));
    const byTicket = new Map(entries.map((e, i) => [e.ticket, ids[i]]));

    const released = new Set<number>();
    let admittedTotal = 0;
    let rounds = 0;
    let releaseNext: number[] = [];
    while (admittedTotal < 1_000) {
      rounds++;
      // Releases and four admission ticks (two per gateway) race each other.
      const releasing = releaseNext.map((ticket, i) =>
        i % 2 ? rooms[i % 2].leave(byTicket.get(ticket)!, ticket) : rooms[i % 2].expireTicket(byTicket.get(ticket)!, ticket),
      );
      const ticks = await Promise.all([...releasing, ...[0, 1, 0, 1].map((g) => rooms[g].admit())]).then((r) => r.slice(releasing.length) as { admitted: number }[]);
      releaseNext.forEach((t) => released.add(t));
      admittedTotal += ticks.reduce((sum, t) => sum + t.admitted, 0);

      const stats = await rooms[rounds % 2].stats();
      expect(stats.active).toBeLessThanOrEqual(maxActive);
      // Each connection runs its releases before its ticks, so the last tick to run saw every release: no slot left empty.
      expect(stats.active).toBe(Math.min(maxActive, 1_000 - released.size));

      // Everyone admitted so far holds exactly the first `admittedTotal` tickets; everyone behind moved up by that much.
      const pending = [...byTicket].filter(([ticket]) => !released.has(ticket));
      const places = await Promise.all(pending.map(([ticket, id], i) => rooms[i % 2].status(id, ticket)));
      const active: number[] = [];
      places.forEach((place, i) => {
        const ticket = pending[i][0];
        if (place.status === 'ACTIVE') active.push(ticket);
        else expect(place).toMatchObject({ status: 'WAITING', position: ticket - admittedTotal });
      });
      expect(active.length).toBeLessThanOrEqual(maxActive);
      expect(active.every((t) => t <= admittedTotal)).toBe(true);
      expect(active.length + [...released].filter((t) => t <= admittedTotal).length).toBe(admittedTotal);

      // Release a random part of the active users (at least one) for the next round.
      releaseNext = active.filter(() => Math.random() < 0.5);
      if (releaseNext.length === 0 && active.length) releaseNext = [active[0]];
    }
    expect(admittedTotal).toBe(1_000);
    expect((await rooms[0].stats()).admittedTotal).toBe(1_000);
  });

  it('gives the same user the same ticket and position, also after others lined up behind', async () => {
    const { room } = setup();
    const [first, me, ...others] = users(5);
    await room.enter(first);
    const mine = await room.enter(me);
    for (const other of others) await room.enter(other);
    expect(mine).toMatchObject({ ticket: 2, status: 'WAITING', position: 2 });
    expect(await room.enter(me)).toMatchObject({ ticket: 2, status: 'WAITING', position: 2 });
    expect(await room.status(me, 2)).toMatchObject({ status: 'WAITING', position: 2 });
  });

  it('drops a waiter whose lease lapsed, moves those behind up, and reads the lapsed ticket as EXPIRED', async () => {
    const { room, clock } = setup({ maxActive: 1 });
    const [holder, abandoned, b, c] = users(4);
    await room.enter(holder);
    await room.admit(); // holder takes the only slot, so nobody below is admitted
    const tA = (await room.enter(abandoned)).ticket;
    const tB = (await room.enter(b)).ticket;
    const tC = (await room.enter(c)).ticket;

    clock.now += 40 * SECOND;
    await room.status(b, tB);
    expect(await room.keepAlive(c, tC)).toBe(true); // an open event stream holds the place like polling
    clock.now += 21 * SECOND; // abandoned: 61 s silent; b and c: 21 s

    expect(await room.admit()).toMatchObject({ admitted: 0, droppedWaiters: 1, expiredActive: 0 });
    expect(await room.status(b, tB)).toMatchObject({ status: 'WAITING', position: 1 });
    expect(await room.status(c, tC)).toMatchObject({ status: 'WAITING', position: 2 });
    expect(await room.status(abandoned, tA)).toEqual({ status: 'EXPIRED' });
    expect(await room.keepAlive(abandoned, tA)).toBe(false);
    expect((await room.stats()).waiting).toBe(2);

    // Coming back after losing the place means the back of the line with a new ticket.
    const back = await room.enter(abandoned);
    expect(back).toMatchObject({ status: 'WAITING', position: 3 });
    expect(back.ticket).toBeGreaterThan(tC);
  });

  it('a lapsed waiter reads EXPIRED at once, before any sweep, and polling just inside the lease keeps the place', async () => {
    const { room, clock } = setup({ maxActive: 0 });
    const [late, punctual] = users(2);
    const tLate = (await room.enter(late)).ticket;
    const tPunctual = (await room.enter(punctual)).ticket;
    for (let i = 0; i < 5; i++) {
      clock.now += LEASE - 1 * SECOND;
      expect(await room.status(punctual, tPunctual)).toMatchObject({ status: 'WAITING' });
    }
    expect(await room.status(late, tLate)).toEqual({ status: 'EXPIRED' });
    expect(await room.status(punctual, tPunctual)).toMatchObject({ status: 'WAITING', position: 1 });
  });

  it('skips a lapsed waiter at the head when a slot frees, so an abandoned place never stalls the line', async () => {
    // A sweep of one waiter per tick: admission itself has to notice the lapsed head.
    const { room, clock } = setup({ maxActive: 2, sweepBatch: { min: 1, max: 1 } });
    const [x1, x2, w1, lapsed, w2] = users(5);
    const tX1 = (await room.enter(x1)).ticket;
    const tX2 = (await room.enter(x2)).ticket;
    expect((await room.admit()).admitted).toBe(2);
    const t1 = (await room.enter(w1)).ticket;
    const tLapsed = (await room.enter(lapsed)).ticket;
    const t2 = (await room.enter(w2)).ticket;

    clock.now += 30 * SECOND;
    await room.status(w1, t1);
    await room.status(w2, t2);
    clock.now += 31 * SECOND;
    await room.leave(x1, tX1);
    await room.leave(x2, tX2);

    expect(await room.admit()).toMatchObject({ admitted: 2, droppedWaiters: 1, expiredActive: 0 });
    expect(await room.status(w1, t1)).toMatchObject({ status: 'ACTIVE' });
    expect(await room.status(w2, t2)).toMatchObject({ status: 'ACTIVE' });
    expect(await room.status(lapsed, tLapsed)).toEqual({ status: 'EXPIRED' });
  });

  it('sweeps a long line a slice per tick and has visited every waiter once the slices cover the line', async () => {
    const { room, clock } = setup({ maxActive: 1, sweepBatch: { min: 500, max: 500 } });
    await room.enter(randomUUID());
    await room.admit(); // the only slot is taken: nothing below is admitted, only swept
    const ids = users(3_000);
    const entries = await Promise.all(ids.map((id) => room.enter(id)));
    const keepers = ids.map((id, i) => ({ id, ticket: entries[i].ticket })).filter((_, i) => i % 3 === 0);

    clock.now += 30 * SECOND;
    await Promise.all(keepers.map((k) => room.status(k.id, k.ticket)));
    clock.now += 31 * SECOND; // two thirds are past their lease

    const first = await room.admit();
    expect(first.droppedWaiters).toBeGreaterThan(0);
    expect(first.droppedWaiters).toBeLessThan(500); // one slice, not the whole line
    let dropped = first.droppedWaiters;
    for (let i = 1; i < 6; i++) dropped += (await room.admit()).droppedWaiters;
    expect(dropped).toBe(2_000);
    expect((await room.admit()).droppedWaiters).toBe(0);
    expect((await room.stats()).waiting).toBe(1_000);
    const places = await Promise.all(keepers.map((k) => room.status(k.id, k.ticket)));
    expect(places.map(position)).toEqual(keepers.map((_, i) => i + 1));
  });

  it('expireTicket ends the ticket at once, and the next user is admitted on the next tick', async () => {
    const { room } = setup({ maxActive: 2 });
    const [a, b, c, d] = users(4);
    const tA = (await room.enter(a)).ticket;
    await room.enter(b);
    const tC = (await room.enter(c)).ticket;
    expect((await room.admit()).admitted).toBe(2);
    expect(await room.status(c, tC)).toMatchObject({ status: 'WAITING', position: 1 });

    expect(await room.expireTicket(a, tA)).toBe(true); // payment.completed
    expect(await room.status(a, tA)).toEqual({ status: 'EXPIRED' });
    expect((await room.stats()).active).toBe(1);
    expect((await room.admit()).admitted).toBe(1);
    expect(await room.status(c, tC)).toMatchObject({ status: 'ACTIVE' });

    const tD = (await room.enter(d)).ticket;
    expect(await room.expireTicket(d, tD)).toBe(true); // a waiting user's ticket ends too
    expect(await room.status(d, tD)).toEqual({ status: 'EXPIRED' });
    expect(await room.expireTicket(d, tD)).toBe(false);
    expect(await room.expireTicket(randomUUID(), tD)).toBe(false);
    expect((await room.stats()).waiting).toBe(0);
  });

  it('reads an old ticket as EXPIRED and gives a user whose ticket ended a new place at the back', async () => {
    const { room, clock } = setup({ maxActive: 1, activeTtlMs: 300 * SECOND });
    const [a, b, c] = users(3);
    const tA = (await room.enter(a)).ticket;
    const tB = (await room.enter(b)).ticket;
    const tC = (await room.enter(c)).ticket;

    expect((await room.admit()).admitted).toBe(1); // a is active
    expect(await room.enter(a)).toEqual({ ticket: tA, status: 'ACTIVE', activeUntil: clock.now + 300 * SECOND });
    expect(await room.expireTicket(a, tA)).toBe(true);
    const again = await room.enter(a);
    // A late or repeated payment.completed of the first admission never ends the new one.
    expect(await room.expireTicket(a, tA)).toBe(false);
    expect(again.ticket).toBeGreaterThan(tC);
    expect(again).toMatchObject({ status: 'WAITING', position: 3 });
    expect(await room.status(a, tA)).toEqual({ status: 'EXPIRED' });
    expect(await room.status(a, again.ticket)).toMatchObject({ status: 'WAITING', position: 3 });
    expect(await room.leave(a, tA)).toBe(false); // the old token cannot touch the new place
    expect(await room.status(a, again.ticket)).toMatchObject({ status: 'WAITING', position: 3 });

    // An active slot that runs out: EXPIRED at once, freed by the next tick, and the user starts over.
    expect((await room.admit()).admitted).toBe(1); // b
    for (let i = 0; i < 6; i++) {
      clock.now += 50 * SECOND; // the waiters keep polling, so only b's slot runs out
      await room.status(c, tC);
      await room.status(a, again.ticket);
    }
    expect(await room.status(b, tB)).toEqual({ status: 'EXPIRED' });
    expect(await room.admit()).toMatchObject({ admitted: 1, droppedWaiters: 0, expiredActive: 1 });
    expect(await room.status(c, tC)).toMatchObject({ status: 'ACTIVE' });
    const bAgain = await room.enter(b);
    expect(bAgain.ticket).toBeGreaterThan(again.ticket);
    expect(bAgain).toMatchObject({ status: 'WAITING', position: 2 });

    // Tickets that never were this user's read EXPIRED too.
    expect(await room.status(c, tA)).toEqual({ status: 'EXPIRED' });
    expect(await room.status(c, 0)).toEqual({ status: 'EXPIRED' });
    expect(await room.status(c, 1.5)).toEqual({ status: 'EXPIRED' });
  });

  it('an admitted slot lasts exactly the active time: ACTIVE until activeUntil, EXPIRED from then, and a waiter admitted no sooner than the head', async () => {
    const { room, clock } = setup({ maxActive: 1, activeTtlMs: 120 * SECOND });
    const [a, b] = users(2);
    const tA = (await room.enter(a)).ticket;
    const tB = (await room.enter(b)).ticket;
    const admittedAt = clock.now;
    expect((await room.admit()).admitted).toBe(1);
    // The head (a) is admitted, b behind it is not, though it asked in the same tick.
    expect(await room.status(b, tB)).toMatchObject({ status: 'WAITING', position: 1 });
    const active = await room.status(a, tA);
    expect(active).toMatchObject({ status: 'ACTIVE', activeUntil: admittedAt + 120 * SECOND });

    const keepWaiting = async () => void (await room.status(b, tB)); // b polls, so only a's slot can run out
    for (const at of [40, 80]) {
      clock.now = admittedAt + at * SECOND;
      await keepWaiting();
    }
    clock.now = admittedAt + 120 * SECOND - 1;
    await keepWaiting();
    expect(await room.status(a, tA)).toMatchObject({ status: 'ACTIVE' });
    expect((await room.admit()).admitted).toBe(0); // a tick a moment before the end frees nothing
    expect(await room.status(b, tB)).toMatchObject({ status: 'WAITING', position: 1 });

    clock.now = admittedAt + 120 * SECOND;
    expect(await room.status(a, tA)).toEqual({ status: 'EXPIRED' });
    expect(await room.admit()).toMatchObject({ admitted: 1, expiredActive: 1 });
    expect(await room.status(b, tB)).toMatchObject({ status: 'ACTIVE', activeUntil: clock.now + 120 * SECOND });
  });

  it('an active user whose slot ran out and who lines up before the next tick starts over at the back', async () => {
    const { room, clock } = setup({ maxActive: 1, activeTtlMs: 120 * SECOND });
    const [a, b] = users(2);
    const tA = (await room.enter(a)).ticket;
    const tB = (await room.enter(b)).ticket;
    await room.admit();
    for (let i = 0; i < 3; i++) {
      clock.now += 40 * SECOND;
      await room.status(b, tB);
    }
    const again = await room.enter(a);
    expect(again).toMatchObject({ status: 'WAITING', position: 2 });
    expect(again.ticket).toBeGreaterThan(tB);
    expect(await room.status(a, tA)).toEqual({ status: 'EXPIRED' });
    expect(await room.admit()).toMatchObject({ admitted: 1, droppedWaiters: 0, expiredActive: 0 });
    expect(await room.status(b, tB)).toMatchObject({ status: 'ACTIVE' });
    expect(await room.status(a, again.ticket)).toMatchObject({ status: 'WAITING', position: 1 });
  });

  it('leave takes a waiter out of the line or frees an active slot, only with the current ticket', async () => {
    const { room } = setup({ maxActive: 1 });
    const [a, b, c, d] = users(4);
    const tA = (await room.enter(a)).ticket;
    const tB = (await room.enter(b)).ticket;
    const tC = (await room.enter(c)).ticket;
    const tD = (await room.enter(d)).ticket;
    await room.admit(); // a active

    expect(await room.leave(c, tB)).toBe(false); // not c's ticket
    expect(await room.status(c, tC)).toMatchObject({ status: 'WAITING', position: 2 });

    expect(await room.leave(b, tB)).toBe(true);
    expect(await room.status(b, tB)).toEqual({ status: 'EXPIRED' });
    expect(await room.status(c, tC)).toMatchObject({ status: 'WAITING', position: 1 });
    expect(await room.status(d, tD)).toMatchObject({ status: 'WAITING', position: 2 });
    expect(await room.leave(b, tB)).toBe(false);

    expect(await room.leave(a, tA + 100)).toBe(false);
    expect(await room.status(a, tA)).toMatchObject({ status: 'ACTIVE' });
    expect(await room.leave(a, tA)).toBe(true);
    expect(await room.status(a, tA)).toEqual({ status: 'EXPIRED' });
    expect((await room.stats()).active).toBe(0);
    expect((await room.admit()).admitted).toBe(1);
    expect(await room.status(c, tC)).toMatchObject({ status: 'ACTIVE' });
    expect(await room.status(d, tD)).toMatchObject({ status: 'WAITING', position: 1 });
  });

  it('measures the admission rate from slot turnover and bases the ETA on it, never faster than the configured rate', async () => {
    // The sale admits at most 2 a second; slots turn over at 1 a second.
    const { room, clock } = setup({ maxActive: 2, activeTtlMs: 60 * SECOND, rateWindowMs: 60 * SECOND, sale: { admitPerMinute: 120 } });
    await room.admit(); // the ticker runs before anyone arrives
    const ids = users(20);
    const tickets: number[] = [];
    for (const id of ids) tickets.push((await room.enter(id)).ticket);
    // Nothing measured yet: the configured rate (2 a second), so position 10 waits 5 s.
    expect(await room.status(ids[9], tickets[9])).toEqual({ status: 'WAITING', position: 10, etaSeconds: 5, admissionRatePerSecond: null });

    expect((await room.admit()).admitted).toBe(2); // the first fill is a burst, not a rate
    expect((await room.stats()).admissionRatePerSecond).toBeNull();
    for (let i = 0; i < 10; i++) {
      clock.now += SECOND;
      await Promise.all(ids.slice(2 + i).map((id, j) => room.status(id, tickets[2 + i + j])));
      await room.expireTicket(ids[i], tickets[i]); // one user per second pays and frees a slot
      expect((await room.admit()).admitted).toBe(1);
    }
    const stats = await room.stats();
    expect(stats).toMatchObject({ waiting: 8, active: 2, admittedTotal: 12 });
    expect(stats.admissionRatePerSecond).toBeCloseTo(1, 1);
    // Measured 1 a second (below the configured 2): position 3 waits 3 s.
    const place = await room.status(ids[14], tickets[14]);
    expect(place).toMatchObject({ status: 'WAITING', position: 3, etaSeconds: 3 });
    expect(room.pollAfterMs(place)).toBe(1_000);
  });

  it('refuses a user id that is not a uuid instead of storing something else', async () => {
    const { room } = setup();
    await expect(room.enter('user-1')).rejects.toThrow(TypeError);
  });

  it('the admission ticker admits on its own, with two gateways ticking at once', async () => {
    const maxActive = 5;
    const { gateway } = setup({ maxActive, now: Date.now });
    const [a, b] = [gateway(), gateway()];
    const ids = users(20);
    const entries = await Promise.all(ids.map((id) => a.enter(id)));
    const newestFirst = entries.map((e, i) => ({ id: ids[i], ticket: e.ticket })).sort((x, y) => y.ticket - x.ticket);
    const errors: unknown[] = [];
    const violations: string[] = [];
    const logger = { error: (obj: unknown) => void errors.push(obj) };
    const tickers = [a, b].map((waitingRoom) => startAdmissionTicker({ waitingRoom, intervalMs: 10, logger }));
    const admitted = new Set<number>();
    try {
      await waitFor(
        async () => {
          const { active } = await b.stats();
          if (active > maxActive) violations.push(`${active} active`);
          // Newest first: once someone is seen admitted, nobody with an earlier ticket may still be waiting.
          let laterAdmitted: number | undefined;
          for (const { id, ticket } of newestFirst) {
            const place = await b.status(id, ticket);
            if (place.status === 'WAITING' && laterAdmitted !== undefined) violations.push(`${ticket} waiting after ${laterAdmitted} was admitted`);
            if (place.status === 'ACTIVE' || admitted.has(ticket)) laterAdmitted ??= ticket;
            if (place.status === 'ACTIVE') {
              admitted.add(ticket);
              await a.leave(id, ticket);
            }
          }
          return admitted.size === ids.length;
        },
        { label: 'all 20 admitted by the tickers' },
      );
    } finally {
      await Promise.all(tickers.map((t) => t.stop()));
    }
    expect(violations).toEqual([]);
    expect(errors).toEqual([]);
    expect((await a.stats()).admittedTotal).toBe(20);
  });
});
