import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { createPeriodicJob } from '@ticketing/db';
import type { OutboxWriter } from '@ticketing/messaging';
import type { Logger } from '@ticketing/telemetry';
import type { Knex } from 'knex';
import { paymentRepository as payments } from './payment.repository';
import { pendingCommand, retryDelayMs } from './saga';
import { sagaMessage } from './saga-events';
import type { SagaMetrics } from './saga.metrics';

export interface SagaRetrierOptions {
  db: Knex;
  outbox: OutboxWriter;
  logger: Logger;
  metrics: SagaMetrics;
  stepTimeoutMs: number;
  maxDelayMs: number;
  stallAfterMs: number;
  intervalMs?: number;
  batchSize?: number;
}

export interface SagaRetrier {
  /** Sends again every command whose reply is overdue; returns how many. */
  retryOnce(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Keeps every saga moving: a step whose reply is overdue (a lost message, a service down, a crash
 * between steps) has its command sent again, with exponential backoff. The receivers decide once per
 * payment, so a re-sent command only makes them repeat their answer. Overdue payments are claimed
 * with SKIP LOCKED, so several instances share the work, and a restarted instance resumes every saga
 * from its row. A saga is never given up on silently: past SAGA_STALL_AFTER_MS it is reported as
 * stalled (log, `stalled` in its view, `payment_sagas_stalled`) while retries go on.
 */
export function createSagaRetrier(options: SagaRetrierOptions): SagaRetrier {
  const { db, outbox, logger, metrics, stepTimeoutMs, maxDelayMs, stallAfterMs, intervalMs = 500, batchSize = 200 } = options;
  const log = logger.child({ component: 'saga-retrier' });

  async function retryBatch(): Promise<number> {
    return db.transaction(async (trx) => {
      const due = await payments.claimOverdue(trx, batchSize);
      for (const p of due) {
        const command = pendingCommand(p.status);
        if (!command) continue;
        const attempts = p.step_attempts + 1;
        // The re-sent command continues the checkout's trace rather than starting one of its own.
        await context.with(propagation.extract(ROOT_CONTEXT, p.trace_context), () => outbox.append(trx, sagaMessage(command, p)));
        await payments.scheduleRetry(trx, p.id, attempts, retryDelayMs(attempts, stepTimeoutMs, maxDelayMs));
        metrics.retries.inc({ command });
        const waitedMs = Date.now() - p.step_started_at.getTime();
        const fields = { paymentId: p.id, status: p.status, command, attempt: attempts, waitedMs };
        if (waitedMs > stallAfterMs) log.error(fields, 'saga step stalled: still no reply, command sent again');
        else log.warn(fields, 'saga step unanswered in time: command sent again');
      }
      return due.length;
    });
  }

  async function retryOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await retryBatch();
      total += n;
      if (n < batchSize) return total;
    }
  }

  // No step falls due before the earliest step clock seen at the last scan, and a step started since
  // (in any instance) is due stepTimeoutMs after it at the soonest: the retrier scans then, so an idle
  // service, or one whose sagas all answer in time, does not query every interval.
  let nextScanAt = 0;
  async function scanWhenDue(): Promise<number> {
    if (Date.now() < nextScanAt) return 0;
    const n = await retryOnce();
    const untilDue = await payments.msUntilNextRetry(db);
    nextScanAt = Date.now() + Math.min(stepTimeoutMs, untilDue ?? Infinity);
    return n;
  }

  const job = createPeriodicJob({ name: 'saga-retrier', intervalMs, logger, run: scanWhenDue });
  return { retryOnce, start: job.start, stop: job.stop };
}
