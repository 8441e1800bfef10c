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
  /** Whether a request in this process waits for the payment (if not, the step that ends it NOTIFYs). */
  isWaiting(paymentId: string): boolean;
  /** Hands a payment this process just finished (its transaction committed) to the requests waiting for it here. */
  finished(payment: PaymentRow): void;
  stop(): Promise<void>;
}

/** Called with the finished payment (handed over in-process) or without (a NOTIFY: read it). */
type Waiter = (payment?: PaymentRow) => void;

/**
 * Lets POST /payments answer with the outcome. The saga step that ends a payment usually runs in the
 * process that took the request: it hands the finished row straight to the waiting request, with no
 * query and no NOTIFY. When it runs in another instance (Kafka spreads payments over consumers), that
 * instance finds nobody waiting locally and sends a PostgreSQL NOTIFY, which every instance LISTENs
 * for. NOTIFY is kept to that case because it serialises committing transactions. Waiters re-read
 * their payment every `pollMs` only while the LISTEN connection is down, and all of them once it is back.
 */
export function createPaymentWaiter({ db, databaseUrl, logger, pollMs = 250 }: { db: Knex; databaseUrl: string; logger: Logger; pollMs?: number }): PaymentWaiter {
  const log = logger.child({ component: 'payment-waiter' });
  const waiters = new Map<string, Set<Waiter>>();
  let listener: pg.Client | undefined;
  let stopped = false;

  const wake = (paymentId: string, payment?: PaymentRow) => waiters.get(paymentId)?.forEach((w) => w(payment));
  const wakeAll = () => waiters.forEach((set) => set.forEach((w) => w()));

  async function listen(): Promise<void> {
    if (stopped) return;
    const client = new pg.Client({ connectionString: databaseUrl, application_name: 'payment-waiter-listen' });
    client.on('error', (error) => {
      log.warn({ err: error }, 'LISTEN connection lost; waiters poll until it is back');
      listener = undefined;
      wakeAll(); // from now on they poll
      client.end().catch(() => undefined);
      relisten();
    });
    client.on('notification', (n) => {
      if (n.payload) wake(n.payload);
    });
    await client.connect();
    await client.query(`LISTEN ${PAYMENT_FINISHED_CHANNEL}`);
    listener = client;
    wakeAll(); // notifications sent while nobody listened are lost: everyone reads once
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
    isWaiting: (paymentId) => waiters.has(paymentId),
    finished: (payment) => wake(payment.id, payment),
    async waitForFinal(paymentId, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let handed: PaymentRow | undefined;
      let woken = false;
      let signal: (() => void) | undefined;
      const waiter: Waiter = (payment) => {
        if (payment) handed = payment;
        woken = true;
        signal?.();
      };
      // Registered before the first read: a payment finished in between is not missed.
      const set = waiters.get(paymentId) ?? new Set();
      waiters.set(paymentId, set);
      set.add(waiter);
      try {
        let row = await payments.find(db, paymentId);
        for (;;) {
          if (handed) return handed;
          if (!row) throw new Error(`payment ${paymentId} vanished`);
          const left = deadline - Date.now();
          if (isFinal(row.status) || left <= 0) return row;
          if (!woken) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, listener ? left : Math.min(left, pollMs));
              signal = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            signal = undefined;
          }
          woken = false;
          if (handed) return handed;
          row = await payments.find(db, paymentId);
        }
      } finally {
        set.delete(waiter);
        if (set.size === 0 && waiters.get(paymentId) === set) waiters.delete(paymentId);
      }
    },
    async stop() {
      stopped = true;
      await listener?.end().catch(() => undefined);
      listener = undefined;
    },
  };
}
