import type { Cluster, Redis } from 'ioredis';
import { admissionRate, etaSeconds, fallbackAdmissionRate, pollAfterMs } from './eta';
import { parseSnapshotReply, type RoomSnapshot } from './room-snapshot';
import { unavailableAs503 } from './room-redis';
import { defineWaitingRoomScripts, LEASE_CODE_UNIT_MS, MAX_WAITING_LEASE_MS, userMember, waitingRoomKeys, type WaitingRoomKeys } from './waiting-room.scripts';

export interface WaitingRoomOptions {
  redis: Redis | Cluster;
  /** Namespaces the keys (`{<prefix>}:line` ...): one waiting room per prefix. */
  keyPrefix: string;
  /** MAX_ACTIVE_USERS: never more active at once. */
  maxActive: number;
  /** How long an admitted user stays active (ACTIVE_TTL). */
  activeTtlMs: number;
  /** A waiter who neither polls nor holds the event stream open this long loses the place (WAITING_LEASE). */
  waitingLeaseMs: number;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  now?: () => number;
  /** Time constant of the measured admission rate. */
  rateWindowMs?: number;
  /** Waiters examined for a lapsed lease per admission tick, at least / at most (bounds the script's run time). */
  sweepBatch?: { min: number; max: number };
}

export interface WaitingPlace {
  status: 'WAITING';
  /** 1 = next to be admitted. */
  position: number;
  etaSeconds: number;
  /** The measured rate the ETA is based on; null before anything was measured (then a guess is used). */
  admissionRatePerSecond: number | null;
}

export interface ActivePlace {
  status: 'ACTIVE';
  /** Milliseconds since the epoch. */
  activeUntil: number;
}

export interface ExpiredPlace {
  status: 'EXPIRED';
}

export type Place = WaitingPlace | ActivePlace | ExpiredPlace;

/** What `enter` hands out: the ticket is the queue token's id. */
export type Entry = { ticket: number } & (WaitingPlace | ActivePlace);

export interface AdmitResult {
  admitted: number;
  /** Waiters removed because their lease lapsed. */
  droppedWaiters: number;
  /** Active slots that ran out and were freed. */
  expiredActive: number;
}

/** A snapshot and the tickets that left since the caller's last read of the gone stream. */
export interface SnapshotRead {
  snapshot: RoomSnapshot;
  /** Tickets that left or lost their slot (leave, expireUser) after `goneAfter`. */
  gone: number[];
  /** Pass this as `goneAfter` next time. */
  goneCursor: string;
}

export interface WaitingRoomStats {
  waiting: number;
  active: number;
  admissionRatePerSecond: number | null;
  admittedTotal: number;
}

export type WaitingRoom = ReturnType<typeof createWaitingRoom>;

const toNumber = (value: unknown): number => Number(value);
const optionalNumber = (value: unknown): number => (value === '' || value === null || value === undefined ? 0 : Number(value));

/**
 * The fair waiting room in Redis (see waiting-room.scripts.ts for the data layout). Every operation is
 * one script, so any number of gateway instances may share one room.
 */
export function createWaitingRoom(options: WaitingRoomOptions) {
  const { redis, maxActive, activeTtlMs, waitingLeaseMs, now = Date.now, rateWindowMs = 60_000 } = options;
  // The slice swept per tick is bounded whatever the line's length, so a tick never holds Redis long;
  // a long line is visited over several leases (a lapsed waiter is still never admitted: see ADMIT).
  const sweepBatch = options.sweepBatch ?? { min: 1_000, max: 2_000 };
  if (!Number.isInteger(maxActive) || maxActive < 0) throw new RangeError(`maxActive must be a whole number >= 0, got ${maxActive}`);
  if (!(activeTtlMs > 0)) throw new RangeError(`activeTtlMs must be > 0, got ${activeTtlMs}`);
  if (!(waitingLeaseMs >= LEASE_CODE_UNIT_MS && waitingLeaseMs <= MAX_WAITING_LEASE_MS)) {
    throw new RangeError(`waitingLeaseMs must be ${LEASE_CODE_UNIT_MS}..${MAX_WAITING_LEASE_MS}, got ${waitingLeaseMs}`);
  }
  if (!(rateWindowMs > 0)) throw new RangeError(`rateWindowMs must be > 0, got ${rateWindowMs}`);
  if (!(sweepBatch.min >= 1 && sweepBatch.max >= sweepBatch.min)) throw new RangeError('sweepBatch needs 1 <= min <= max');

  const keys: WaitingRoomKeys = waitingRoomKeys(options.keyPrefix);
  // Every room operation is a script: while Redis is away each one is a 503, never a 500.
  const scripts = unavailableAs503(defineWaitingRoomScripts(redis));
  const leaseUnits = Math.ceil(waitingLeaseMs / LEASE_CODE_UNIT_MS);
  const fallbackRate = fallbackAdmissionRate({ maxActive: Math.max(1, maxActive), activeTtlMs });

  function waiting(position: number, rate: unknown, observed: unknown): WaitingPlace {
    const measured = admissionRate({ decayed: optionalNumber(rate), observedMs: optionalNumber(observed) }, rateWindowMs);
    return {
      status: 'WAITING',
      position,
      etaSeconds: etaSeconds(position, measured && measured > 0 ? measured : fallbackRate),
      admissionRatePerSecond: measured,
    };
  }

  const isTicket = (ticket: number) => Number.isSafeInteger(ticket) && ticket > 0;
  const measuredRate = (decayed: number, observedMs: number) => admissionRate({ decayed, observedMs }, rateWindowMs);

  const runAdmit = async (goneAfter: string) =>
    (await scripts.waitingRoomAdmit(
      keys.line, keys.active, keys.tickets, keys.meta, keys.seq, keys.gone,
      now(), maxActive, activeTtlMs, leaseUnits, waitingLeaseMs, rateWindowMs, sweepBatch.min, sweepBatch.max, goneAfter,
    )) as unknown[];

  /**
   * `status` for many fans in one script call (renewing each current waiter's lease). Positions are
   * exact (ZRANK) when `withPosition`, else a WAITING place has position 0 and only says the ticket is current.
   */
  async function statusMany(fans: { userId: string; ticket: number }[], { withPosition = true } = {}): Promise<Place[]> {
    const args: (string | number | Buffer)[] = [];
    for (const { userId, ticket } of fans) if (isTicket(ticket)) args.push(userMember(userId), ticket);
    const replies = args.length
      ? ((await scripts.waitingRoomStatus(keys.line, keys.active, keys.tickets, keys.meta, now(), leaseUnits, withPosition ? '1' : '0', ...args)) as unknown[][])
      : [];
    let next = 0;
    return fans.map(({ ticket }): Place => {
      if (!isTicket(ticket)) return { status: 'EXPIRED' };
      const reply = replies[next++];
      switch (toNumber(reply[0])) {
        case 1:
          return withPosition ? waiting(toNumber(reply[1]), reply[2], reply[3]) : { status: 'WAITING', position: 0, etaSeconds: 0, admissionRatePerSecond: null };
        case 2:
          return { status: 'ACTIVE', activeUntil: toNumber(reply[1]) };
        default:
          return { status: 'EXPIRED' };
      }
    });
  }

  function readSnapshot(snapshotReply: unknown[], goneReply: unknown[]): SnapshotRead {
    return { snapshot: parseSnapshotReply(snapshotReply, measuredRate), goneCursor: String(goneReply[0]), gone: goneReply.slice(1).map(toNumber) };
  }

  return {
    keys,
    statusMany,

    /** A WAITING place at `position` with its ETA from the measured rate (or the guess before one is measured). */
    waitingPlace(position: number, admissionRatePerSecond: number | null): WaitingPlace {
      const rate = admissionRatePerSecond && admissionRatePerSecond > 0 ? admissionRatePerSecond : fallbackRate;
      return { status: 'WAITING', position, etaSeconds: etaSeconds(position, rate), admissionRatePerSecond };
    },

    /**
     * Lines the user up, or returns the place they already hold (renewing the lease); a user whose
     * previous ticket ended (paid, left, lapsed, slot ran out) gets a new ticket at the back.
     */
    async enter(userId: string): Promise<Entry> {
      const reply = (await scripts.waitingRoomEnter(
        keys.seq, keys.line, keys.active, keys.tickets, keys.meta,
        userMember(userId), now(), leaseUnits,
      )) as unknown[];
      const ticket = toNumber(reply[0]);
      if (toNumber(reply[1]) === 2) return { ticket, status: 'ACTIVE', activeUntil: toNumber(reply[2]) };
      return { ticket, ...waiting(toNumber(reply[2]), reply[3], reply[4]) };
    },

    /** Where this ticket stands; any ticket but the user's current one is EXPIRED. Polling renews the lease. */
    async status(userId: string, ticket: number): Promise<Place> {
      return (await statusMany([{ userId, ticket }]))[0];
    },

    /** Renews the waiting lease (an open event stream); false once the ticket is no longer current. */
    async keepAlive(userId: string, ticket: number): Promise<boolean> {
      return (await statusMany([{ userId, ticket }], { withPosition: false }))[0].status !== 'EXPIRED';
    },

    /** Leaves the line, or gives up the active slot; false (and no change) if the ticket is not current. */
    async leave(userId: string, ticket: number): Promise<boolean> {
      if (!isTicket(ticket)) return false;
      const left = await scripts.waitingRoomLeave(keys.line, keys.active, keys.tickets, keys.gone, userMember(userId), ticket);
      return toNumber(left) !== 0;
    },

    /** Ends whatever ticket the user holds, at once (payment.completed); the slot is refilled on the next tick. */
    async expireUser(userId: string): Promise<boolean> {
      const expired = await scripts.waitingRoomExpireUser(keys.line, keys.active, keys.tickets, keys.gone, userMember(userId));
      return toNumber(expired) === 1;
    },

    /**
     * One admission tick (atomic): frees ran-out slots, drops lapsed waiters, admits up to
     * `maxActive − active` from the head of the line in ticket order, and updates the admission rate.
     */
    async admit(): Promise<AdmitResult> {
      const reply = await runAdmit('');
      return { admitted: toNumber(reply[0]), droppedWaiters: toNumber(reply[1]), expiredActive: toNumber(reply[2]) };
    },

    /** `admit()` and, in the same atomic step, the room's snapshot and the departures after `goneAfter`. */
    async admitAndSnapshot(goneAfter: string): Promise<AdmitResult & SnapshotRead> {
      const reply = await runAdmit(goneAfter);
      return { admitted: toNumber(reply[0]), droppedWaiters: toNumber(reply[1]), expiredActive: toNumber(reply[2]), ...readSnapshot(reply[3] as unknown[], reply[4] as unknown[]) };
    },

    /** The room's snapshot without admitting anybody. */
    async snapshot(goneAfter: string): Promise<SnapshotRead> {
      const reply = (await scripts.waitingRoomSnapshot(keys.seq, keys.line, keys.active, keys.meta, keys.gone, now(), goneAfter)) as unknown[];
      return readSnapshot(reply[0] as unknown[], reply[1] as unknown[]);
    },

    /** Counts (waiting includes lapsed waiters not yet swept) and the measured admission rate. */
    async stats(): Promise<WaitingRoomStats> {
      const reply = (await scripts.waitingRoomStats(keys.line, keys.active, keys.meta)) as unknown[];
      return {
        waiting: toNumber(reply[0]),
        active: toNumber(reply[1]),
        admissionRatePerSecond: admissionRate({ decayed: optionalNumber(reply[2]), observedMs: optionalNumber(reply[3]) }, rateWindowMs),
        admittedTotal: optionalNumber(reply[4]),
      };
    },

    /** When the client should ask again: paced by the ETA while waiting; once per stretch of the lease otherwise. */
    pollAfterMs(place: { status: Place['status']; etaSeconds?: number }): number {
      return pollAfterMs(place.status === 'WAITING' && place.etaSeconds !== undefined ? place.etaSeconds : Number.POSITIVE_INFINITY, { waitingLeaseMs });
    },
  };
}
