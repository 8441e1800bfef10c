import { loadServiceConfig } from '@ticketing/config';
import { createInternalAuth } from '@ticketing/http';
import { defineService } from '@ticketing/service-runtime';
import { createApp } from './app';
import { createSeatStatusRepository } from './seats/seat-status.repository';
import { seatStatusHandlers } from './seats/seat-status.consumer';

/** The concert catalog over the service runtime: its HTTP app and the seat status consumer. */
export const catalogService = defineService({
  name: 'concert-catalog',
  settings: (env) => loadServiceConfig('concert-catalog', {}, env),
  wire: ({ config, logger, metrics, db, outbox, readiness }) => ({
    http: createApp({ logger, metrics, readiness, internalAuth: createInternalAuth(config.INTERNAL_AUTH_SECRET), db, outbox }),
    consumers: [seatStatusHandlers({ seats: createSeatStatusRepository(db), logger })],
  }),
});
