import type { EventPayload } from '@ticketing/contracts';
import type { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { unavailableAs503 } from './room-redis';
import { createRoomView, type RoomView } from './room-view';
import { createWaitingRoom, type AdmitResult, type RoomSale, type WaitingRoom } from './waiting-room.repository';

export interface RoomsOptions {
  redis: Redis | Cluster;
  /** QUEUE_KEY_PREFIX: room `c` keeps its keys under `{<prefix>:c}`, the index of rooms is `<prefix>:sales`. */
  keyPrefix: string;
  waitingLeaseMs: number;
  now?: () => number;
  /** Fans each room's view remembers. */
  maxFansPerRoom?: number;
  /** ADMISSION_TICK_MS: a room banks up to three ticks' (at least 3 s) worth of its admission rate. */
  admissionTickMs?: number;
}

export interface Room {
  concertId: string;
  waitingRoom: WaitingRoom;
  view: RoomView;
}

/** A sale's settings as `sale.configured` carries them, in the room's terms. */
export function roomSaleOf(payload: EventPayload<'sale.configured'>): RoomSale {
  return {
    revision: payload.revision,
    queueOpensAt: Date.parse(payload.queueOpensAt),
    saleOpensAt: Date.parse(payload.saleOpensAt),
    maxActive: payload.maxActive,
    admitPerMinute: payload.admitPerMinute,
    activeMs: payload.activeMinutes * 60_000,
    mode: payload.mode,
    powDifficulty: payload.powDifficulty,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One waiting room per concert sale. Each room's keys share their own hash tag, so rooms spread over
 * the shards of a Redis Cluster while every script of one room stays on one shard. The set of rooms
 * lives in Redis (`<prefix>:sales`, written when a sale is configured), so every gateway instance
 * ticks every room, whichever instance consumed the `sale.configured` event.
 */
export function createRooms({ redis, keyPrefix, waitingLeaseMs, now = Date.now, maxFansPerRoom, admissionTickMs = 1_000 }: RoomsOptions) {
  const rateBankMs = Math.max(3_000, 3 * admissionTickMs);
  if (!/^[^{}\s:]+$/.test(keyPrefix)) throw new Error(`queue key prefix must be non-empty without braces, colons or spaces: ${JSON.stringify(keyPrefix)}`);
  const indexKey = `${keyPrefix}:sales`;
  // Rooms with a sale (from the shared index, or configured here): kept, and ticked. Anything else a
  // request names (any uuid a client sends) is made on demand and kept only in a small LRU, so random
  // concert ids cost neither memory nor ticks.
  const rooms = new Map<string, Room>();
  const transient = new LRUCache<string, Room>({ max: 1_000 });
  const index = unavailableAs503({
    add: (concertId: string) => redis.sadd(indexKey, concertId),
    members: () => redis.smembers(indexKey),
  });
  // Pre-queue tokens that were drawn: their ticket from then on (the mapping never changes).
  const drawn = new LRUCache<string, number>({ max: 200_000 });

  function room(concertId: string): Room {
    if (!UUID.test(concertId)) throw new TypeError(`concert id must be a uuid: ${JSON.stringify(concertId)}`);
    const id = concertId.toLowerCase();
    const found = rooms.get(id) ?? transient.get(id);
    if (found) return found;
    const waitingRoom = createWaitingRoom({ redis, keyPrefix: `${keyPrefix}:${id}`, waitingLeaseMs, now, rateBankMs });
    const made = { concertId: id, waitingRoom, view: createRoomView({ room: waitingRoom, waitingLeaseMs, now, maxFans: maxFansPerRoom }) };
    transient.set(id, made);
    return made;
  }

  /** A room with a sale: kept for good (moved out of the LRU if a request made it first). */
  function keep(concertId: string): Room {
    const id = concertId.toLowerCase();
    const kept = rooms.get(id);
    if (kept) return kept;
    const made = room(id);
    transient.delete(id);
    rooms.set(id, made);
    return made;
  }

  return {
    /** The room of a concert's sale (the object only: whether it has a sale is the room's to say). */
    room,

    /** Every room with a sale, from the shared index (opens the ones this process has not seen yet). */
    async all(): Promise<Room[]> {
      for (const concertId of await index.members()) if (UUID.test(concertId)) keep(concertId);
      return [...rooms.values()];
    },

    /**
     * One admission tick of every room with a sale, through each room's view (admits, and takes the
     * snapshot made in the same step); a room whose tick fails is logged and the others go on.
     * Returns the sums.
     */
    async admitAll(logger: { error(obj: object, msg: string): void }): Promise<AdmitResult> {
      const all = await this.all();
      const results = await Promise.all(
        all.map((r) =>
          r.view.admit().catch((err: unknown) => {
            logger.error({ err, concertId: r.concertId }, 'admission tick of a room failed');
            return undefined;
          }),
        ),
      );
      const sum: AdmitResult = { admitted: 0, droppedWaiters: 0, expiredActive: 0, sale: null, drawnAt: null };
      for (const result of results) {
        if (!result) continue;
        sum.admitted += result.admitted;
        sum.droppedWaiters += result.droppedWaiters;
        sum.expiredActive += result.expiredActive;
      }
      return sum;
    },

    /** Applies `sale.configured`: stores the settings in the room (newer revisions only) and lists the room. */
    async configure(concertId: string, sale: RoomSale): Promise<boolean> {
      const stored = await keep(concertId).waitingRoom.configure(sale);
      await index.add(concertId.toLowerCase());
      return stored;
    },

    /** The ticket a drawn pre-queue token stands for, when this process resolved it before (no promise). */
    peekDrawn(concertId: string, userId: string, preTicket: number): number | undefined {
      return drawn.get(`${concertId}:${userId}:${preTicket}`);
    },

    rememberDrawn(concertId: string, userId: string, preTicket: number, ticket: number): void {
      drawn.set(`${concertId}:${userId}:${preTicket}`, ticket);
    },
  };
}

export type Rooms = ReturnType<typeof createRooms>;
