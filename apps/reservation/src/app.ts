import { createHttpApp, type HttpApp, type InternalAuth, type ReadinessCheck } from '@ticketing/http';
import type { Logger, Registry } from '@ticketing/telemetry';

export interface AppDeps {
  logger: Logger;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
  /** Only calls signed by the gateway reach the routes. */
  internalAuth: InternalAuth;
}

/** Builds the reservation HTTP app without listening, so tests can run it in-process. */
export function createApp(deps: AppDeps): HttpApp {
  return createHttpApp(deps, () => {
    // Use-case routes are mounted here as features land (apps/reservation/src/<feature>/).
  });
}
