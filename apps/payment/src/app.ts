import { createHttpApp, type HttpApp, type InternalAuth, type ReadinessCheck } from '@ticketing/http';
import type { Logger, Registry } from '@ticketing/telemetry';
import { createPaymentsRouter } from './checkout/payments.routes';
import type { StartPaymentDeps } from './checkout/start-payment.handler';

export interface AppDeps extends StartPaymentDeps {
  logger: Logger;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
  /** Only calls signed by the gateway reach the routes. */
  internalAuth: InternalAuth;
}

/** Builds the payment HTTP app without listening, so tests can run it in-process. */
export function createApp(deps: AppDeps): HttpApp {
  return createHttpApp(deps, (app) => {
    app.use(createPaymentsRouter(deps));
  });
}
