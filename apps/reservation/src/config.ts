import { loadServiceConfig } from '@ticketing/config';
import { z } from 'zod';

/** The reservation service's settings, validated once at start. */
export function loadReservationConfig(env?: NodeJS.ProcessEnv) {
  return loadServiceConfig(
    'reservation',
    {
      /** How long a hold lasts before the sweeper releases it. */
      HOLD_TTL_SECONDS: z.coerce.number().int().min(1).max(3_600).default(300),
      /** Live holds one user may have on one schedule. */
      HOLD_LIMIT: z.coerce.number().int().min(1).max(50).default(4),
      /** Sweeper period; must stay well under 1 s so holds end within 1 s of their deadline. */
      HOLD_SWEEP_INTERVAL_MS: z.coerce.number().int().min(10).max(900).default(200),
      HOLD_SWEEP_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(500),
    },
    env,
  );
}

export type ReservationConfig = ReturnType<typeof loadReservationConfig>;
