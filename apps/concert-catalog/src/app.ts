import type { Database } from '@ticketing/db';
import { createHttpApp, type HttpApp, type InternalAuth, type ReadinessCheck } from '@ticketing/http';
import type { OutboxWriter } from '@ticketing/messaging';
import type { Logger, Registry } from '@ticketing/telemetry';
import { createConcertRepository } from './concerts/concert.repository';
import { createConcertsRouter } from './concerts/concerts.routes';
import { createSaleRepository } from './sales/sale.repository';
import { createSalesRouter } from './sales/sales.routes';
import { createScheduleRepository } from './schedules/schedule.repository';
import { createSchedulesRouter } from './schedules/schedules.routes';
import { createSeatStatusRepository } from './seats/seat-status.repository';
import { createSeatsRouter } from './seats/seats.routes';

export interface AppDeps {
  logger: Logger;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
  /** Only calls signed by the gateway reach the routes. */
  internalAuth: InternalAuth;
  db: Database;
  /** Publishes `schedule.published` and `sale.configured` in the transactions that make them true. */
  outbox: OutboxWriter;
}

/** Builds the concert-catalog HTTP app without listening, so tests can run it in-process. */
export function createApp(deps: AppDeps): HttpApp {
  const concerts = createConcertRepository(deps.db);
  const schedules = createScheduleRepository(deps.db);
  const seats = createSeatStatusRepository(deps.db);
  const sales = createSaleRepository(deps.db);
  return createHttpApp(deps, (app) => {
    app.use(createConcertsRouter({ concerts }));
    app.use(createSchedulesRouter({ db: deps.db, concerts, schedules, outbox: deps.outbox }));
    app.use(createSalesRouter({ db: deps.db, concerts, sales, outbox: deps.outbox }));
    app.use(createSeatsRouter({ seats }));
  });
}
