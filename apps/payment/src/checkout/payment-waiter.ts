import type { Logger } from '@ticketing/telemetry';
import type { Knex } from 'knex';
import pg from 'pg';
import { paymentRepository as payments, type PaymentRow } from './payment.repository';
import { isFinal } from './saga';

export const PAYMENT_FINISHED_CHANNEL = 'payment_finished';

export interface PaymentWaiter {
  start(): Promise<void>;
  /** Resolves with the payment once it is COMPLETED or FAILED, or as it stands after `timeoutMs`. */
  waitForFinal(paymentId: string, timeoutMs: number): Promise<PaymentRow>;
  /** Wakes local waiters (this process finished the payment). */
  notify(paymentId: string): void;
  stop(): Promise<void>;
}

/**
 * Lets POST /payments answer with the outcome. The saga step that ends a payment may run in any
 * instance (Kafka spreads payments over consumers), so the ending transaction also sends a
 * PostgreSQL NOTIFY that every instance LISTENs for; waiters also re-read their payment every
 * `pollMs` in case a notification was missed (LISTEN connection lost).
 */
export function createPaymentWaiter({ db, databaseUrl, logger, pollMs = 250 }: { db: Knex; databaseUrl: string; logger: Logger; pollMs?: number }): PaymentWaiter {
  const log = logger.child({ component: 'payment-waiter' });
  const waiters = new Map<string, Set<() => void>>();
  let listener: pg.Client | undefined;
  let stopped = false;

  const wake = (paymentId: string) => waiters.get(paymentId)?.forEach((w) => w());

  async function listen(): Promise<void> {
    if (stopped) return;
    const client = new pg.Client({ connectionString: databaseUrl, application_name: 'payment-waiter-listen' });
    client.on('error', (error) => {
      log.warn({ err: error }, 'LISTEN connection lost; waiters poll until it is back');
      listener = undefined;
      client.end().catch(() => undefined);
      relisten();
    });
    client.on('notification', (n) => {
      if (n.payload) wake(n.payload);
    });
    await client.connect();
    await client.query(`LISTEN ${PAYMENT_FINISHED_CHANNEL}`);
    listener = client;
  }

  /** Reconnects until it works (the database may be restarting); waiters poll meanwhile. */
  function relisten(): void {
    if (stopped) return;
    setTimeout(() => listen().catch(() => relisten()), 1_000).unref();
  }

  return {
    async start() {
      await listen();
    },
    notify: wake,
    async waitForFinal(paymentId, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const row = await payments.find(db, paymentId);
        if (!row) throw new Error(`payment ${paymentId} vanished`);
        const left = deadline - Date.now();
        if (isFinal(row.status) || left <= 0) return row;
        await new Promise<void>((resolve) => {
          const set = waiters.get(paymentId) ?? new Set();
          waiters.set(paymentId, set);
          const done = () => {
            clearTimeout(timer);
            set.delete(done);
            if (set.size === 0) waiters.delete(paymentId);
            resolve();
          };
          const timer = setTimeout(done, Math.min(left, pollMs));
          set.add(done);
        });
      }
    },
    async stop() {
      stopped = true;
      await listener?.end().catch(() => undefined);
      listener = undefined;
    },
  };
}
