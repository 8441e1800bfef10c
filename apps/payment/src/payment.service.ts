import { createIdempotencyPurge, createIdempotencyStore, createInternalAuth } from '@ticketing/http';
import { defineService } from '@ticketing/service-runtime';
import { createApp } from './app';
import { createPaymentWaiter } from './checkout/payment-waiter';
import { createSagaRetrier } from './checkout/saga-retrier';
import { sagaHandlers } from './checkout/saga.consumer';
import { createSagaMetrics } from './checkout/saga.metrics';
import { loadPaymentConfig } from './config';
import { createHoldArrivals } from './holds/hold-arrivals';
import { payableHoldHandlers } from './holds/payable-holds.consumer';

/**
 * The payment service over the service runtime: POST /payments and the checkout saga, whose one
 * consumer runs the hold projection and the saga (both take reservation.confirmed), the waiter that
 * hands a finished payment to the request waiting for it, the saga retrier and the key purge.
 */
export const paymentService = defineService({
  name: 'payment',
  settings: loadPaymentConfig,
  wire: ({ config, logger, metrics: registry, db, outbox, readiness }) => {
    const metrics = createSagaMetrics(registry, db, config.SAGA_STALL_AFTER_MS);
    const waiter = createPaymentWaiter({ db, databaseUrl: config.databaseUrl, logger });
    const holdArrivals = createHoldArrivals();
    // A claim outlives the longest a POST can take, so only a dead request's key is ever taken over.
    const idempotency = createIdempotencyStore({ db, lockMs: config.PAYMENT_SYNC_WAIT_MS + config.HOLD_LOOKUP_WAIT_MS + 10_000 });
    return {
      http: createApp({
        logger,
        metrics: registry,
        readiness,
        internalAuth: createInternalAuth(config.INTERNAL_AUTH_SECRET),
        db,
        outbox,
        idempotency,
        waiter,
        holdArrivals,
        sagaMetrics: metrics,
        syncWaitMs: config.PAYMENT_SYNC_WAIT_MS,
        holdLookupWaitMs: config.HOLD_LOOKUP_WAIT_MS,
        stepTimeoutMs: config.SAGA_STEP_TIMEOUT_MS,
        stallAfterMs: config.SAGA_STALL_AFTER_MS,
      }),
      consumers: [payableHoldHandlers(holdArrivals), sagaHandlers({ outbox, logger, metrics, waiter, stepTimeoutMs: config.SAGA_STEP_TIMEOUT_MS })],
      // The hold projection must see every hold, including those made before this group first joined.
      fromBeginning: true,
      jobs: {
        'payment-waiter': waiter,
        'saga-retrier': createSagaRetrier({
          db,
          outbox,
          logger,
          metrics,
          stepTimeoutMs: config.SAGA_STEP_TIMEOUT_MS,
          maxDelayMs: config.SAGA_RETRY_MAX_MS,
          stallAfterMs: config.SAGA_STALL_AFTER_MS,
          intervalMs: config.SAGA_RETRY_SCAN_INTERVAL_MS,
        }),
        'idempotency-purge': createIdempotencyPurge({ store: idempotency, logger, intervalMs: config.IDEMPOTENCY_PURGE_INTERVAL_MS }),
      },
      describe: { syncWaitMs: config.PAYMENT_SYNC_WAIT_MS, stepTimeoutMs: config.SAGA_STEP_TIMEOUT_MS },
    };
  },
});
