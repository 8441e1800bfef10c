import { loadServiceConfig } from '@ticketing/config';
import { DEFAULT_MAX_CHARGE } from '@ticketing/contracts';
import { z } from 'zod';

/** The wallet service's settings, validated once at start. */
export function loadWalletConfig(env?: NodeJS.ProcessEnv) {
  return loadServiceConfig(
    'wallet',
    {
      /** The largest single charge, in whole won. */
      MAX_CHARGE: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(DEFAULT_MAX_CHARGE),
    },
    env,
  );
}

export type WalletConfig = ReturnType<typeof loadWalletConfig>;
