import type { IdempotencyStore } from '@ticketing/http';
import type { Logger } from '@ticketing/telemetry';

export interface IdempotencyPurge {
  start(): void;
  /** Stops the timer and waits for the purge in flight. */
  stop(): Promise<void>;
}

/** Deletes Idempotency-Key answers past their retention every `intervalMs` (any number of instances may run it). */
export function createIdempotencyPurge({ store, logger, intervalMs }: { store: IdempotencyStore; logger: Logger; intervalMs: number }): IdempotencyPurge {
  const log = logger.child({ component: 'idempotency-purge' });
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();

  const purge = async () => {
    try {
      const deleted = await store.purgeExpired();
      if (deleted > 0) log.info({ deleted }, 'purged expired idempotency keys');
    } catch (error) {
      log.warn({ err: error }, 'idempotency purge failed; next round retries');
    }
  };

  return {
    start() {
      if (timer) return;
      inFlight = purge();
      timer = setInterval(() => {
        inFlight = purge();
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
