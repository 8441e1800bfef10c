import { LRUCache } from 'lru-cache';
import type { AdmitResult, Place, SnapshotRead, WaitingPlace } from './waiting-room.repository';
import { positionUpperBound, type RoomSnapshot } from './room-snapshot';

/** What the view needs of the room in Redis (waiting-room.repository.ts). */
export interface RoomViewSource {
  admitAndSnapshot(goneAfter: string): Promise<AdmitResult & SnapshotRead>;
  snapshot(goneAfter: string): Promise<SnapshotRead>;
  statusMany(fans: { userId: string; ticket: number }[], options?: { withPosition?: boolean }): Promise<Place[]>;
  waitingPlace(position: number, admissionRatePerSecond: number | null): WaitingPlace;
}

export interface RoomViewOptions {
  room: RoomViewSource;
  /** WAITING_LEASE: a fan's lease is renewed at most once per half of it, and checked in Redis before it could lapse. */
  waitingLeaseMs: number;
  /** Fans remembered by this process (their last renewal and the position last shown). */
  maxFans?: number;
  /** Fans per Redis call when look-ups and renewals are batched. */
  batchSize?: number;
  now?: () => number;
}

interface Fan {
  userId: string;
  /** When this process last saw the ticket current in Redis (which also renewed the lease). */
  confirmedAt: number;
  /** The lowest position shown for this ticket by this process: a position never moves backwards. */
  shown: number;
  /** The snapshot's admittedTotal when `shown` was set (none before any snapshot): each admission since moved this fan up by one. */
  shownAdmitted?: number;
  /** Set while ACTIVE: the slot's end. */
  activeUntil?: number;
  /** A background renewal is in flight. */
  renewing?: boolean;
}

interface Pending {
  userId: string;
  ticket: number;
  resolve(place: Place): void;
  reject(error: unknown): void;
}

export type RoomView = ReturnType<typeof createRoomView>;

/**
 * One gateway process's view of a waiting room: a snapshot read once per admission tick and a bounded
 * memory of the fans this process answered. A status poll of a waiting fan is answered from memory:
 * the position is the snapshot's upper bound (never below the truth, never rising), and the lease is
 * renewed in Redis at most once per half lease, batched with every other renewal of the moment. Redis
 * is asked only about fans whose state may have changed: new to this process, below the snapshot's
 * head (admitted or gone), named in the gone stream, or not confirmed for most of a lease.
 */
export function createRoomView({ room, waitingLeaseMs, maxFans = 200_000, batchSize = 1_000, now = Date.now }: RoomViewOptions) {
  const renewAfterMs = waitingLeaseMs / 2;
  // Past this, the lease may have lapsed in Redis (clocks of other gateways, a missed renewal): ask.
  const confirmWithinMs = waitingLeaseMs * 0.8;
  const fans = new LRUCache<number, Fan>({ max: maxFans });
  const listeners = new Set<(snapshot: RoomSnapshot) => void>();
  let current: RoomSnapshot | undefined;
  let goneCursor = '0-0';
  let counters = { answeredFromSnapshot: 0, lookedUp: 0, renewed: 0 };

  // Look-ups and renewals of one moment go to Redis together, in one script call per batch.
  let queue: { lookups: Pending[]; renewals: Pending[] } = { lookups: [], renewals: [] };
  let flushScheduled = false;
  function enqueue(kind: 'lookups' | 'renewals', userId: string, ticket: number): Promise<Place> {
    return new Promise<Place>((resolve, reject) => {
      queue[kind].push({ userId, ticket, resolve, reject });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
  }
  function flush() {
    flushScheduled = false;
    const { lookups, renewals } = queue;
    queue = { lookups: [], renewals: [] };
    const send = (items: Pending[], withPosition: boolean) => {
      for (let i = 0; i < items.length; i += batchSize) {
        const batch = items.slice(i, i + batchSize);
        room.statusMany(batch, { withPosition }).then(
          (places) => places.forEach((place, j) => batch[j].resolve(place)),
          (error) => batch.forEach((p) => p.reject(error)),
        );
      }
    };
    // Look-ups are few (fans whose state changed) and take the exact position for when there is no bound.
    send(lookups, true);
    send(renewals, false);
  }

  /**
   * The position to show: the snapshot's bound, or what this process showed before less the admissions
   * since (everyone admitted since was ahead of a fan still waiting), whichever is lower. The second
   * keeps a fan moving with the line when a bound from a coarser checkpoint has not caught up yet.
   */
  function waitingPlace(fan: Fan, position: number): WaitingPlace {
    const admitted = current?.admittedTotal;
    const since = admitted !== undefined && fan.shownAdmitted !== undefined ? Math.max(0, admitted - fan.shownAdmitted) : 0;
    fan.shown = Math.max(1, Math.min(fan.shown - since, position));
    fan.shownAdmitted = admitted;
    return room.waitingPlace(fan.shown, current?.admissionRatePerSecond ?? null);
  }

  /** Records what Redis said about a ticket and turns it into the answer to show. */
  function learn(userId: string, ticket: number, place: Place, at: number): Place {
    if (place.status === 'EXPIRED') {
      fans.delete(ticket);
      return place;
    }
    const fan = fans.get(ticket) ?? { userId, confirmedAt: at, shown: Number.POSITIVE_INFINITY, shownAdmitted: current?.admittedTotal };
    fan.confirmedAt = at;
    fans.set(ticket, fan);
    if (place.status === 'ACTIVE') {
      fan.activeUntil = place.activeUntil;
      return place;
    }
    fan.activeUntil = undefined;
    const bound = current ? positionUpperBound(current, ticket) : undefined;
    return waitingPlace(fan, bound ?? place.position);
  }

  function renewInBackground(fan: Fan, ticket: number) {
    if (fan.renewing) return;
    fan.renewing = true;
    const at = now();
    enqueue('renewals', fan.userId, ticket).then(
      (place) => {
        fan.renewing = false;
        counters.renewed++;
        if (place.status === 'EXPIRED') fans.delete(ticket);
        else {
          fan.confirmedAt = at;
          // Admitted meanwhile (this process's snapshot may be a tick behind): answer ACTIVE from now on.
          if (place.status === 'ACTIVE') fan.activeUntil = place.activeUntil;
        }
      },
      () => {
        // Redis unreachable: the next answer past the confirmation window asks again.
        fan.renewing = false;
      },
    );
  }

  /**
   * The answer from memory, or undefined when Redis must be asked (see the class comment). Renews the
   * lease in the background once half of it has passed.
   */
  function peek(userId: string, ticket: number): Place | undefined {
    const fan = fans.get(ticket);
    if (!fan || fan.userId !== userId || !current) return undefined;
    const age = now() - fan.confirmedAt;
    if (fan.activeUntil !== undefined) {
      // Admitted fans are few (the sale's maxActive); their slot ends on time or through the gone stream.
      return fan.activeUntil > now() && age < confirmWithinMs ? { status: 'ACTIVE', activeUntil: fan.activeUntil } : undefined;
    }
    if (age >= confirmWithinMs) return undefined;
    const bound = positionUpperBound(current, ticket);
    if (bound === undefined) return undefined;
    if (age >= renewAfterMs) renewInBackground(fan, ticket);
    counters.answeredFromSnapshot++;
    return waitingPlace(fan, bound);
  }

  function apply(read: SnapshotRead) {
    current = read.snapshot;
    goneCursor = read.goneCursor;
    for (const ticket of read.gone) fans.delete(ticket);
    for (const listener of listeners) listener(current);
  }

  return {
    /** One admission tick through this view: admits, and takes the snapshot made in the same step. */
    async admit(): Promise<AdmitResult> {
      const { admitted, droppedWaiters, expiredActive, sale, drawnAt, ...read } = await room.admitAndSnapshot(goneCursor);
      apply(read);
      return { admitted, droppedWaiters, expiredActive, sale, drawnAt };
    },

    /** Reads the snapshot without admitting (a process that does not tick). */
    async refresh(): Promise<void> {
      apply(await room.snapshot(goneCursor));
    },

    peek,

    /** Where the ticket stands: from memory when it can be (see `peek`), else from Redis, batched. */
    async status(userId: string, ticket: number): Promise<Place> {
      const known = peek(userId, ticket);
      if (known) return known;
      counters.lookedUp++;
      const at = now();
      return learn(userId, ticket, await enqueue('lookups', userId, ticket), at);
    },

    /**
     * What to show a fan who has just entered or re-entered: the same bound later polls will show
     * (so the first poll never shows a higher position), or Redis's exact position before any snapshot.
     */
    entered(userId: string, ticket: number, place: Place): Place {
      return learn(userId, ticket, place, now());
    },

    /** This process saw the ticket end (leave): forget it at once rather than at the next snapshot. */
    forget(ticket: number): void {
      fans.delete(ticket);
    },

    /** Called after every snapshot (event streams push from here). */
    onSnapshot(listener: (snapshot: RoomSnapshot) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    snapshot: () => current,

    /** Answers given from memory, Redis look-ups, background renewals (for tests and metrics). */
    counters: () => ({ ...counters, remembered: fans.size }),
    resetCounters: () => void (counters = { answeredFromSnapshot: 0, lookedUp: 0, renewed: 0 }),
  };
}
