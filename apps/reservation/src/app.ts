import { createHttpApp, type HttpApp, type InternalAuth, type ReadinessCheck } from '@ticketing/http';
import type { OutboxWriter } from '@ticketing/messaging';
import type { Logger, Registry } from '@ticketing/telemetry';
import type { Knex } from 'knex';
import { createReservationsRouter } from './holds/reservations.routes';

export interface AppDeps {
  logger: Logger;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
  /** Only calls signed by the gateway reach the routes. */
  internalAuth: InternalAuth;
  db: Knex;
  outbox: OutboxWriter;
  holdTtlSeconds: number;
  holdLimit: number;
  /** Told each hold's deadline once committed (reservation.service.ts: this process's sweeper). */
  onHeld?: (holdExpiresAt: Date) => void;
}

/** Builds the reservation HTTP app without listening, so tests can run it in-process. */
export function createApp(deps: AppDeps): HttpApp {
  return createHttpApp(deps, (app) => {
    app.use(createReservationsRouter({ db: deps.db, outbox: deps.outbox, holdTtlSeconds: deps.holdTtlSeconds, holdLimit: deps.holdLimit, onHeld: deps.onHeld }));
  });
}
