import { createInternalAuth } from '@ticketing/http';
import { defineService } from '@ticketing/service-runtime';
import { createApp } from './app';
import { loadReservationConfig } from './config';
import { confirmRequestedHandlers } from './confirmation/confirm-reservation.consumer';
import { createHoldExpirySweeper } from './holds/hold-expiry.sweeper';
import { schedulePublishedHandlers } from './seats/schedule-published.consumer';

/** The reservation service over the service runtime: holds over HTTP, its two consumers and the hold expiry sweeper. */
export const reservationService = defineService({
  name: 'reservation',
  settings: loadReservationConfig,
  wire: ({ config, logger, metrics, db, outbox, readiness }) => {
    const sweeper = createHoldExpirySweeper({
      db,
      outbox,
      logger,
      intervalMs: config.HOLD_SWEEP_INTERVAL_MS,
      batchSize: config.HOLD_SWEEP_BATCH_SIZE,
      holdTtlMs: config.HOLD_TTL_SECONDS * 1000,
    });
    return {
      http: createApp({
        logger,
        metrics,
        readiness,
        internalAuth: createInternalAuth(config.INTERNAL_AUTH_SECRET),
        db,
        outbox,
        holdTtlSeconds: config.HOLD_TTL_SECONDS,
        holdLimit: config.HOLD_LIMIT,
        // This process's sweeper hears of each hold it commits (one that committed after its last look).
        onHeld: (holdExpiresAt) => sweeper.holdMade(holdExpiresAt),
      }),
      consumers: [schedulePublishedHandlers(), confirmRequestedHandlers(outbox)],
      jobs: { 'hold-expiry-sweeper': sweeper },
      describe: { holdTtlSeconds: config.HOLD_TTL_SECONDS, holdLimit: config.HOLD_LIMIT },
    };
  },
});
