import { Counter, Gauge, Histogram, type Registry } from '@ticketing/telemetry';
import type { Knex } from 'knex';
import { paymentRepository as payments } from './payment.repository';

export interface SagaMetrics {
  started: Counter<string>;
  finished: Counter<'status' | 'reason'>;
  transitions: Counter<'from' | 'to'>;
  retries: Counter<'command'>;
  duplicateReplies: Counter<'reply'>;
  contradictions: Counter<'reply'>;
  duration: Histogram<'status'>;
}

/**
 * The saga's Prometheus metrics. `payment_sagas_stalled` (read from the database at scrape time, so
 * every instance reports the same truth) is the one to alert on: payments whose step has gone
 * unanswered past SAGA_STALL_AFTER_MS while their command keeps being re-sent.
 */
export function createSagaMetrics(registry: Registry, db: Knex, stallAfterMs: number): SagaMetrics {
  new Gauge({
    name: 'payment_sagas_stalled',
    help: 'Payments whose current saga step has gone unanswered longer than SAGA_STALL_AFTER_MS',
    registers: [registry],
    async collect() {
      this.set(await payments.countStalled(db, stallAfterMs));
    },
  });
  new Gauge({
    name: 'payment_sagas_in_progress',
    help: 'Payments not yet COMPLETED or FAILED',
    registers: [registry],
    async collect() {
      this.set(await payments.countInProgress(db));
    },
  });
  return {
    started: new Counter({ name: 'payments_started_total', help: 'Checkout sagas started', registers: [registry] }),
    finished: new Counter({ name: 'payments_finished_total', help: 'Checkout sagas finished, by final status and failure reason', labelNames: ['status', 'reason'], registers: [registry] }),
    transitions: new Counter({ name: 'payment_saga_transitions_total', help: 'Saga state changes', labelNames: ['from', 'to'], registers: [registry] }),
    retries: new Counter({ name: 'payment_saga_command_retries_total', help: 'Saga commands sent again after no reply in time', labelNames: ['command'], registers: [registry] }),
    duplicateReplies: new Counter({ name: 'payment_saga_duplicate_replies_total', help: 'Replies that found their step already answered', labelNames: ['reply'], registers: [registry] }),
    contradictions: new Counter({ name: 'payment_saga_contradictions_total', help: 'Replies contradicting the payment state (a bug elsewhere); never applied', labelNames: ['reply'], registers: [registry] }),
    duration: new Histogram({
      name: 'payment_saga_duration_seconds',
      help: 'From POST /payments to COMPLETED or FAILED',
      labelNames: ['status'],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
  };
}
