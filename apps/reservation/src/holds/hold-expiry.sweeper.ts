import { createPeriodicJob } from '@ticketing/db';
import type { NewEvent, OutboxWriter } from '@ticketing/messaging';
import type { Logger } from '@ticketing/telemetry';
import type { Knex } from 'knex';
import { seatKey } from './reservation.domain';
import { reservationRepository as reservations, seatRepository as seats } from './seat.repository';

export interface HoldExpirySweeperOptions {
  db: Knex;
  outbox: OutboxWriter;
  logger: Logger;
  /** How often to look for expired holds; well under 1 s so a hold ends within 1 s of its deadline. */
  intervalMs?: number;
  batchSize?: number;
  /**
   * How long a hold lasts (every instance alike). With it the sweeper looks only when the earliest
   * deadline it knows of is reached, or a hold made since could have run out: not every interval.
   */
  holdTtlMs?: number;
}

export interface HoldExpirySweeper {
  /** Releases every hold past its deadline now; returns how many. */
  sweepOnce(): Promise<number>;
  /**
   * A hold this process made ends at `holdExpiresAt`: look no later than that. The sweeper's own look
   * at the earliest deadline cannot see a hold whose transaction began before the look and committed
   * after it, which would otherwise wait a whole hold TTL from the look.
   */
  holdMade(holdExpiresAt: Date): void;
  start(): void;
  /** Stops the timer and waits for the sweep in flight. */
  stop(): Promise<void>;
}

/**
 * Releases holds past their deadline in batches: seat AVAILABLE (version + 1), reservation EXPIRED,
 * the user's hold slot given back and `hold.expired` in the outbox, one transaction per batch. Batches
 * are claimed with SKIP LOCKED, so any number of instances sweep side by side without doing a seat twice.
 */
export function createHoldExpirySweeper({ db, outbox, logger, intervalMs = 200, batchSize = 500, holdTtlMs }: HoldExpirySweeperOptions): HoldExpirySweeper {
  const log = logger.child({ component: 'hold-expiry-sweeper' });

  async function sweepBatch(): Promise<number> {
    return db.transaction(async (trx) => {
      const released = await seats.releaseExpired(trx, batchSize);
      if (released.length === 0) return 0;
      await reservations.finish(
        trx,
        released.map((r) => r.reservationId),
        'EXPIRED',
      );
      // One decrement per (user, schedule), in a fixed order: counter rows are locked in user id order everywhere.
      const slots = new Map<string, { userId: string; scheduleId: string; n: number }>();
      for (const r of released) {
        const k = `${r.userId}/${r.scheduleId}`;
        const slot = slots.get(k) ?? { userId: r.userId, scheduleId: r.scheduleId, n: 0 };
        slot.n++;
        slots.set(k, slot);
      }
      for (const slot of [...slots.values()].sort((a, b) => (a.userId + a.scheduleId < b.userId + b.scheduleId ? -1 : 1))) {
        await reservations.giveBackHoldSlot(trx, slot.userId, slot.scheduleId, slot.n);
      }
      await outbox.append(
        trx,
        ...released.map(
          (r): NewEvent<'hold.expired'> => ({
            type: 'hold.expired',
            key: seatKey(r.scheduleId, r.seatNo),
            payload: { reservationId: r.reservationId, scheduleId: r.scheduleId, seatNo: r.seatNo, userId: r.userId, seatVersion: r.version },
          }),
        ),
      );
      return released.length;
    });
  }

  async function sweepOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await sweepBatch();
      total += n;
      if (n < batchSize) return total;
    }
  }

  let nextSweepAt = 0;
  // The earliest deadline of the holds this process made since the current look began.
  let madeSinceLook = Infinity;
  const job = createPeriodicJob({
    name: 'hold-expiry-sweeper',
    intervalMs,
    logger,
    run: async () => {
      if (Date.now() < nextSweepAt) return;
      madeSinceLook = Infinity;
      const n = await sweepOnce();
      if (n > 0) log.debug({ released: n }, 'expired holds released');
      if (holdTtlMs !== undefined) {
        // A hold committed after this look ends holdTtlMs from now at the soonest, or, if its
        // transaction began before the look, is announced by `holdMade` of the instance that made it.
        const untilDeadline = await seats.msUntilNextExpiry(db);
        nextSweepAt = Math.min(Date.now() + Math.min(holdTtlMs, untilDeadline ?? Infinity), madeSinceLook);
      }
    },
  });

  const holdMade = (holdExpiresAt: Date) => {
    madeSinceLook = Math.min(madeSinceLook, holdExpiresAt.getTime());
    nextSweepAt = Math.min(nextSweepAt, holdExpiresAt.getTime());
  };

  return { sweepOnce, holdMade, start: job.start, stop: job.stop };
}
