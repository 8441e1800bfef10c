import { createHttpApp, type HttpApp, type ReadinessCheck } from '@ticketing/http';
import type { Logger, Registry } from '@ticketing/telemetry';

export interface AppDeps {
  logger: Logger;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
}

/** Builds the queue-gateway HTTP app without listening, so tests can run it in-process. */
export function createApp(deps: AppDeps): HttpApp {
  return createHttpApp(deps, () => {
    // Use-case routes are mounted here as features land (apps/queue-gateway/src/<feature>/).
  });
}
