import { loadServiceConfig } from '@ticketing/config';
import { z } from 'zod';

const ms = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** The payment service's settings, validated once at start. */
export function loadPaymentConfig(env?: NodeJS.ProcessEnv) {
  return loadServiceConfig(
    'payment',
    {
      /** How long POST /payments waits for the saga to end before answering 202 with the payment to poll. */
      PAYMENT_SYNC_WAIT_MS: ms(0, 30_000, 5_000),
      /** How long POST /payments waits for a just-made hold to reach this service (it learns holds from events). */
      HOLD_LOOKUP_WAIT_MS: ms(0, 10_000, 2_000),
      /** A saga step unanswered this long has its command sent again; then with exponential backoff. */
      SAGA_STEP_TIMEOUT_MS: ms(100, 120_000, 5_000),
      SAGA_RETRY_MAX_MS: ms(100, 600_000, 60_000),
      /** A step unanswered this long marks the payment `stalled` (and counts in payment_sagas_stalled); retries go on. */
      SAGA_STALL_AFTER_MS: ms(1_000, 3_600_000, 30_000),
      /** How often the retrier looks for unanswered steps. */
      SAGA_RETRY_SCAN_INTERVAL_MS: ms(20, 60_000, 500),
    },
    env,
  );
}

export type PaymentConfig = ReturnType<typeof loadPaymentConfig>;
