import { createIdempotencyPurge, createIdempotencyStore, createInternalAuth } from '@ticketing/http';
import { defineService } from '@ticketing/service-runtime';
import { createApp } from './app';
import { loadWalletConfig } from './config';
import { debitRequestedHandlers } from './payments/debit-requested.consumer';
import { refundRequestedHandlers } from './payments/refund-requested.consumer';

/** The wallet over the service runtime; `idempotencyLockMs` is for tests (how long a key's first attempt owns it). */
export function walletService({ idempotencyLockMs }: { idempotencyLockMs?: number } = {}) {
  return defineService({
    name: 'wallet',
    settings: loadWalletConfig,
    wire: ({ config, logger, metrics, db, outbox, readiness }) => {
      const idempotency = createIdempotencyStore({ db, lockMs: idempotencyLockMs });
      return {
        http: createApp({ logger, metrics, readiness, internalAuth: createInternalAuth(config.INTERNAL_AUTH_SECRET), db, idempotency, maxCharge: config.MAX_CHARGE }),
        consumers: [debitRequestedHandlers(outbox, logger), refundRequestedHandlers(outbox, logger)],
        jobs: { 'idempotency-purge': createIdempotencyPurge({ store: idempotency, logger, intervalMs: config.IDEMPOTENCY_PURGE_INTERVAL_MS }) },
        describe: { maxCharge: config.MAX_CHARGE },
      };
    },
  });
}
