import { createInternalAuth } from '@ticketing/http';
import { defineService } from '@ticketing/service-runtime';
import { createQueueTokens } from './access/queue-token';
import { createApp } from './app';
import { loadGatewayConfig, publicServerLimits } from './config';
import { createProofOfWork } from './queue/proof-of-work';
import { gatewayEventHandlers } from './queue/sale-events.consumer';
import { createRateLimits } from './rate-limits/rate-limits';
import { createSessionTokens } from './sessions/session-token';
import { createPasswordHasher, type PasswordHasher } from './users/password-hasher';
import { createUserRepository } from './users/user.repository';
import { startAdmissionTicker, type AdmissionTicker } from './waiting-room/admission-ticker';
import { createRoomRedisFromConfig } from './waiting-room/room-redis';
import { createRooms } from './waiting-room/rooms';

export interface GatewayServiceOptions {
  /** Tests: a cheaper password hasher than the production one. */
  hasher?: PasswordHasher;
  /** Tests: a shorter SSE comment interval. */
  heartbeatMs?: number;
}

/**
 * The gateway over the service runtime: the waiting rooms in Redis (a connection that gates
 * readiness), sessions, the proxy to the four services, the sale and payment consumer, the admission
 * ticker, and readiness and metrics on its operations port. It writes no events, so it has no outbox.
 */
export function gatewayService({ hasher, heartbeatMs }: GatewayServiceOptions = {}) {
  return defineService({
    name: 'queue-gateway',
    settings: loadGatewayConfig,
    outbox: false,
    connections: ({ config }) => {
      const redis = createRoomRedisFromConfig(config);
      return { redis: { client: redis, connect: () => redis.connect(), check: () => redis.ping(), close: () => redis.disconnect() } };
    },
    wire: ({ config, logger, metrics, db, readiness, connections }) => {
      const redis = connections.redis.client;
      const rooms = createRooms({ redis, keyPrefix: config.QUEUE_KEY_PREFIX, waitingLeaseMs: config.WAITING_LEASE_SECONDS * 1000, admissionTickMs: config.ADMISSION_TICK_MS });
      const http = createApp({
        logger,
        metrics,
        readiness,
        users: createUserRepository(db),
        hasher: hasher ?? createPasswordHasher({ memoryKib: config.PASSWORD_HASH_MEMORY_KIB, iterations: config.PASSWORD_HASH_ITERATIONS, parallelism: config.PASSWORD_HASH_PARALLELISM }),
        sessionTokens: createSessionTokens({ secret: config.SESSION_JWT_SECRET, ttlSeconds: config.SESSION_TTL_SECONDS, issuer: 'queue-gateway' }),
        queueTokens: createQueueTokens({ secret: config.QUEUE_JWT_SECRET }),
        rooms,
        proofOfWork: createProofOfWork({ secret: config.QUEUE_JWT_SECRET, redis, keyPrefix: config.QUEUE_KEY_PREFIX }),
        heartbeatMs,
        internalAuth: createInternalAuth(config.INTERNAL_AUTH_SECRET),
        adminKey: config.ADMIN_API_KEY,
        upstreams: {
          'concert-catalog': config.CATALOG_URL,
          reservation: config.RESERVATION_URL,
          wallet: config.WALLET_URL,
          payment: config.PAYMENT_URL,
        },
        upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
        bodyLimitBytes: config.GATEWAY_BODY_LIMIT_BYTES,
        rateLimits: createRateLimits({ redis, keyPrefix: config.RATE_LIMIT_KEY_PREFIX, settings: config, metrics }),
        trustProxy: config.TRUST_PROXY,
      });
      let ticker: AdmissionTicker | undefined;
      return {
        http,
        // Readiness, details and metrics only there, never on the public port.
        ops: { port: config.GATEWAY_OPS_PORT, host: config.GATEWAY_OPS_HOST },
        limits: publicServerLimits(config),
        consumers: [gatewayEventHandlers({ rooms, logger })],
        jobs: {
          // Each tick admits and refreshes this process's snapshot, from which polls and streams are answered.
          'admission-ticker': {
            start: () => {
              ticker = startAdmissionTicker({ waitingRoom: { admit: () => rooms.admitAll(logger) }, intervalMs: config.ADMISSION_TICK_MS, logger });
            },
            stop: async () => {
              await ticker?.stop();
              ticker = undefined;
            },
          },
        },
        // Open event streams would hold the HTTP server's close until its timeout: end them first.
        beforeClose: [() => http.streams.closeAll()],
        rooms,
        streams: http.streams,
      };
    },
  });
}
