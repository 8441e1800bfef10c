import { createHttpApp, type HttpApp, type IdempotencyStore, type InternalAuth, type ReadinessCheck } from '@ticketing/http';
import type { Logger, Registry } from '@ticketing/telemetry';
import type { Knex } from 'knex';
import { createWalletRouter } from './wallet/wallet.routes';

export interface AppDeps {
  logger: Logger;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
  /** Only calls signed by the gateway reach the routes. */
  internalAuth: InternalAuth;
  db: Knex;
  idempotency: IdempotencyStore;
  /** The largest single charge (MAX_CHARGE). */
  maxCharge: number;
}

/** Builds the wallet HTTP app without listening, so tests can run it in-process. */
export function createApp(deps: AppDeps): HttpApp {
  return createHttpApp(deps, (app) => {
    app.use(createWalletRouter({ db: deps.db, idempotency: deps.idempotency, maxCharge: deps.maxCharge }));
  });
}
