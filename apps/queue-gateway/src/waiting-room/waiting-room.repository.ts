import type { Cluster, Redis } from 'ioredis';
import { ProblemError } from '@ticketing/http';
import { randomBytes } from 'node:crypto';
import { admissionRate, etaSeconds, expectedAdmissionRate, pollAfterMs } from './eta';
import { parseSnapshotReply, type RoomSnapshot } from './room-snapshot';
import { unavailableAs503 } from './room-redis';
import { defineWaitingRoomScripts, LEASE_CODE_UNIT_MS, MAX_WAITING_LEASE_MS, userMember, waitingRoomKeys, type WaitingRoomKeys } from './waiting-room.scripts';

export interface WaitingRoomOptions {
  redis: Redis | Cluster;
  /** Namespaces the keys (`{<prefix>}:line` ...): one waiting room per prefix (per sale). */
  keyPrefix: string;
  /** A waiter who neither polls nor holds the event stream open this long loses the place (WAITING_LEASE). */
  waitingLeaseMs: number;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  now?: () => number;
  /** Time constant of the measured admission rate. */
  rateWindowMs?: number;
  /**
   * The most admission budget (admitPerMinute) a room banks, in milliseconds of rate: a few admission
   * ticks, so a late or missed tick loses nothing while an idle spell cannot turn into a burst.
   */
  rateBankMs?: number;
  /** Waiters examined for a lapsed lease per admission tick, at least / at most (bounds the script's run time). */
  sweepBatch?: { min: number; max: number };
}

/** A sale's settings as the room applies them (see `sale.configured`); times in ms since the epoch. */
export interface RoomSale {
  revision: number;
  queueOpensAt: number;
  saleOpensAt: number;
  maxActive: number;
  admitPerMinute: number;
  activeMs: number;
  mode: 'queue' | 'passthrough';
  powDifficulty: number;
}

/** The pre-queue's draw as recorded when it was made: enough to recompute the order afterwards. */
export interface DrawRecord {
  drawnAt: number;
  /** The random seed: the drawn fans are in order of sha1(seed + member), member = the user id's 16 bytes. */
  seed: string;
  drawn: number;
  firstTicket: number | null;
  /** Pre-queue entries whose lease had lapsed at the draw (they did not poll or hold a stream). */
  lapsed: number;
}

/** Entered before the sale opened: a place is drawn at `opensAt`. */
export interface PreQueuePlace {
  status: 'PRE_QUEUE';
  opensAt: number;
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

/** What `enter` hands out: the ticket is the queue token's id (a pre-ticket in the pre-queue, resolved after the draw). */
export type Entry = { ticket: number } & (WaitingPlace | ActivePlace | PreQueuePlace);

/** Why `enter` did not line the fan up. */
export type EntryRefusal = { refused: 'NO_SALE' } | { refused: 'NOT_OPEN'; queueOpensAt: number };

/** What a pre-queue token stands for now. */
export type PreQueueResolution = PreQueuePlace | { status: 'DRAWN'; ticket: number } | ExpiredPlace;

export interface AdmitResult {
  admitted: number;
  /** Waiters removed because their lease lapsed. */
  droppedWaiters: number;
  /** Active slots that ran out and were freed. */
  expiredActive: number;
  /** The sale as the tick applied it; null when the room has none. */
  sale: RoomSale | null;
  /** When the pre-queue was drawn (null before). */
  drawnAt: number | null;
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
const present = (value: unknown) => value !== '' && value !== null && value !== undefined;

/** Decodes the sale fields the scripts return: {rev, qOpen, sOpen, max, perMin, activeMs, mode[, pow]}. */
function parseSale(raw: unknown[]): RoomSale | null {
  if (!raw || !present(raw[0])) return null;
  return {
    revision: toNumber(raw[0]),
    queueOpensAt: toNumber(raw[1]),
    saleOpensAt: toNumber(raw[2]),
    maxActive: toNumber(raw[3]),
    admitPerMinute: toNumber(raw[4]),
    activeMs: toNumber(raw[5]),
    mode: raw[6] === 'passthrough' ? 'passthrough' : 'queue',
    powDifficulty: optionalNumber(raw[7]),
  };
}

/**
 * A room hands out at most 2^32 tickets (see the layout comment in the scripts): at the gateway's
 * entry rate (~1,500/s per core) that is a month of nonstop entries into one sale, and leaving and
 * re-entering is rate-limited per fan. Should a room ever get there, entering is a clear 503, never a 500.
 */
function sequenceExhaustedAs503(error: unknown): never {
  if (error instanceof Error && /ticket sequence exhausted/.test(error.message)) {
    throw new ProblemError('SERVICE_UNAVAILABLE', "this sale's waiting room has handed out every ticket it can; the organizer must open a new sale");
  }
  throw error;
}

/** A fresh seed for the draw, passed with every call that may make it (only the first one at the opening is used). */
const drawSeed = () => randomBytes(16).toString('hex');

/**
 * The fair waiting room in Redis (see waiting-room.scripts.ts for the data layout). Every operation is
 * one script, so any number of gateway instances may share one room.
 */
export function createWaitingRoom(options: WaitingRoomOptions) {
  const { redis, waitingLeaseMs, now = Date.now, rateWindowMs = 60_000, rateBankMs = 3_000 } = options;
  // The slice swept per tick is bounded whatever the line's length, so a tick never holds Redis long;
  // a long line is visited over several leases (a lapsed waiter is still never admitted: see ADMIT).
  const sweepBatch = options.sweepBatch ?? { min: 1_000, max: 2_000 };
  if (!(waitingLeaseMs >= LEASE_CODE_UNIT_MS && waitingLeaseMs <= MAX_WAITING_LEASE_MS)) {
    throw new RangeError(`waitingLeaseMs must be ${LEASE_CODE_UNIT_MS}..${MAX_WAITING_LEASE_MS}, got ${waitingLeaseMs}`);
  }
  if (!(rateWindowMs > 0)) throw new RangeError(`rateWindowMs must be > 0, got ${rateWindowMs}`);
  if (!(sweepBatch.min >= 1 && sweepBatch.max >= sweepBatch.min)) throw new RangeError('sweepBatch needs 1 <= min <= max');

  const keys: WaitingRoomKeys = waitingRoomKeys(options.keyPrefix);
  // Every room operation is a script: while Redis is away each one is a 503, never a 500.
  const scripts = unavailableAs503(defineWaitingRoomScripts(redis));
  const leaseUnits = Math.ceil(waitingLeaseMs / LEASE_CODE_UNIT_MS);
  // The sale as last read (each admission tick returns it): the configured rate the ETA starts from.
  let sale: RoomSale | null = null;
  const rateFor = (measured: number | null) => expectedAdmissionRate({ measured, sale });

  function waiting(position: number, rate: unknown, observed: unknown): WaitingPlace {
    const measured = admissionRate({ decayed: optionalNumber(rate), observedMs: optionalNumber(observed) }, rateWindowMs);
    return { status: 'WAITING', position, etaSeconds: etaSeconds(position, rateFor(measured)), admissionRatePerSecond: measured };
  }

  const isTicket = (ticket: number) => Number.isSafeInteger(ticket) && ticket > 0;
  const measuredRate = (decayed: number, observedMs: number) => admissionRate({ decayed, observedMs }, rateWindowMs);

  const runAdmit = async (goneAfter: string) => {
    const reply = (await scripts.waitingRoomAdmit(
      keys.line, keys.active, keys.tickets, keys.meta, keys.seq, keys.gone, keys.sale, keys.pre, keys.drawn,
      now(), leaseUnits, waitingLeaseMs, rateWindowMs, sweepBatch.min, sweepBatch.max, goneAfter, drawSeed(), rateBankMs,
    )) as unknown[];
    const raw = reply[3] as unknown[];
    sale = parseSale(raw);
    const result: AdmitResult = {
      admitted: toNumber(reply[0]),
      droppedWaiters: toNumber(reply[1]),
      expiredActive: toNumber(reply[2]),
      sale,
      drawnAt: raw && present(raw[8]) ? toNumber(raw[8]) : null,
    };
    return { result, reply };
  };

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

    /** A WAITING place at `position` with its ETA from the measured and configured rates. */
    waitingPlace(position: number, admissionRatePerSecond: number | null): WaitingPlace {
      return { status: 'WAITING', position, etaSeconds: etaSeconds(position, rateFor(admissionRatePerSecond)), admissionRatePerSecond };
    },

    /** The sale as the last admission tick (or `configure`) saw it; null before either, or without a sale. */
    sale: () => sale,

    /**
     * Stores the sale's settings unless the room already has this or a newer revision (a repeated or
     * reordered `sale.configured`); true when stored. Every gateway applies it from its next tick on.
     */
    async configure(next: RoomSale): Promise<boolean> {
      const stored = await scripts.waitingRoomConfigure(
        keys.sale,
        next.revision, next.queueOpensAt, next.saleOpensAt, next.maxActive, next.admitPerMinute, next.activeMs, next.mode, next.powDifficulty,
      );
      if (toNumber(stored) !== 1) return false;
      sale = next;
      return true;
    },

    /** The stored sale and the record of the pre-queue's draw (null before it was made). */
    async describe(): Promise<{ sale: RoomSale | null; draw: DrawRecord | null }> {
      const raw = (await scripts.waitingRoomDescribe(keys.sale, keys.meta)) as unknown[];
      const draw = present(raw[8])
        ? { drawnAt: toNumber(raw[8]), seed: String(raw[9]), drawn: optionalNumber(raw[10]), firstTicket: present(raw[11]) ? toNumber(raw[11]) : null, lapsed: optionalNumber(raw[12]) }
        : null;
      return { sale: parseSale(raw.slice(0, 8)), draw };
    },

    /**
     * Lines the user up, or returns the place they already hold (renewing the lease); a user whose
     * previous ticket ended (paid, left, lapsed, slot ran out) gets a new ticket at the back. Before the
     * sale opens the fan enters the pre-queue (a pre-ticket, the place drawn at the opening); without a
     * sale, or before its waiting room opens, nobody is let in.
     */
    async enter(userId: string): Promise<Entry | EntryRefusal> {
      const reply = (await scripts
        .waitingRoomEnter(
          keys.seq, keys.line, keys.active, keys.tickets, keys.meta, keys.sale, keys.pre, keys.drawn,
          userMember(userId), now(), leaseUnits, drawSeed(),
        )
        .catch(sequenceExhaustedAs503)) as unknown[];
      const ticket = toNumber(reply[0]);
      if (ticket === -1) return { refused: 'NO_SALE' };
      if (ticket === -2) return { refused: 'NOT_OPEN', queueOpensAt: toNumber(reply[1]) };
      switch (toNumber(reply[1])) {
        case 2:
          return { ticket, status: 'ACTIVE', activeUntil: toNumber(reply[2]) };
        case 3:
          return { ticket, status: 'PRE_QUEUE', opensAt: toNumber(reply[2]) };
        default:
          return { ticket, ...waiting(toNumber(reply[2]), reply[3], reply[4]) };
      }
    },

    /** Where a pre-queue token stands: still in the pre-queue (lease renewed), drawn to a ticket, or gone. */
    async resolvePreQueue(userId: string, preTicket: number): Promise<PreQueueResolution> {
      if (!isTicket(preTicket)) return { status: 'EXPIRED' };
      const reply = (await scripts.waitingRoomResolvePre(
        keys.seq, keys.line, keys.meta, keys.sale, keys.pre, keys.drawn,
        userMember(userId), preTicket, now(), leaseUnits, drawSeed(),
      )) as unknown[];
      switch (toNumber(reply[0])) {
        case 3:
          return { status: 'PRE_QUEUE', opensAt: toNumber(reply[1]) };
        case 4:
          return { status: 'DRAWN', ticket: toNumber(reply[1]) };
        default:
          return { status: 'EXPIRED' };
      }
    },

    /** Leaves the pre-queue; false (and no change) if that entry is not there. */
    async leavePreQueue(userId: string, preTicket: number): Promise<boolean> {
      if (!isTicket(preTicket)) return false;
      return toNumber(await scripts.waitingRoomLeavePre(keys.pre, userMember(userId), preTicket)) === 1;
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

    /**
     * Ends that ticket at once if it is still the user's current one (payment.completed); the slot is
     * refilled on the next tick. A late event for an earlier ticket changes nothing.
     */
    async expireTicket(userId: string, ticket: number): Promise<boolean> {
      if (!isTicket(ticket)) return false;
      const expired = await scripts.waitingRoomExpireTicket(keys.line, keys.active, keys.tickets, keys.gone, userMember(userId), ticket);
      return toNumber(expired) === 1;
    },

    /**
     * One admission tick (atomic): frees ran-out slots, drops lapsed waiters, admits up to
     * `maxActive − active` from the head of the line in ticket order, and updates the admission rate.
     */
    async admit(): Promise<AdmitResult> {
      return (await runAdmit('')).result;
    },

    /** `admit()` and, in the same atomic step, the room's snapshot and the departures after `goneAfter`. */
    async admitAndSnapshot(goneAfter: string): Promise<AdmitResult & SnapshotRead> {
      const { result, reply } = await runAdmit(goneAfter);
      return { ...result, ...readSnapshot(reply[4] as unknown[], reply[5] as unknown[]) };
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
    pollAfterMs(place: { status: Place['status'] | 'PRE_QUEUE'; etaSeconds?: number }): number {
      return pollAfterMs(place.status === 'WAITING' && place.etaSeconds !== undefined ? place.etaSeconds : Number.POSITIVE_INFINITY, { waitingLeaseMs });
    },
  };
}
