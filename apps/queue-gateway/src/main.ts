import './instrument'; // must stay first
import { createDatabase, pingDatabase } from '@ticketing/db';
import { createInternalAuth, onShutdownSignal, reportOnly, startServer } from '@ticketing/http';
import { createEventConsumer, createKafka, kafkaReachability, messagingSettings } from '@ticketing/messaging';
import { createLogger, createMetricsRegistry, shutdownTelemetry } from '@ticketing/telemetry';
import { createQueueTokens } from './access/queue-token';
import { createApp } from './app';
import { loadGatewayConfig, publicServerLimits } from './config';
import { createProofOfWork } from './queue/proof-of-work';
import { gatewayEventHandlers } from './queue/sale-events.consumer';
import { createSessionTokens } from './sessions/session-token';
import { createPasswordHasher } from './users/password-hasher';
import { createUserRepository } from './users/user.repository';
import { startAdmissionTicker } from './waiting-room/admission-ticker';
import { createRoomRedisFromConfig } from './waiting-room/room-redis';
import { createRooms } from './waiting-room/rooms';

const SERVICE = 'queue-gateway';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const logger = createLogger(SERVICE, config.LOG_LEVEL);
  const metrics = createMetricsRegistry(SERVICE);
  const db = createDatabase({ url: config.databaseUrl, poolMax: config.DATABASE_POOL_MAX, applicationName: SERVICE });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID ?? SERVICE, logger });
  const kafkaCheck = kafkaReachability(kafka, { metrics });
  const messaging = messagingSettings(config, SERVICE);
  const redis = createRoomRedisFromConfig(config);
  const rooms = createRooms({ redis, keyPrefix: config.QUEUE_KEY_PREFIX, waitingLeaseMs: config.WAITING_LEASE_SECONDS * 1000, admissionTickMs: config.ADMISSION_TICK_MS });
  const consumer = createEventConsumer({
    kafka,
    db,
    logger,
    ...messaging.consumer,
    handlers: gatewayEventHandlers({ rooms, logger }),
  });
  const { app, ops, markShuttingDown, streams } = createApp({
    logger,
    metrics,
    readiness: { postgres: () => pingDatabase(db), redis: () => redis.ping(), kafka: reportOnly(kafkaCheck.check) },
    users: createUserRepository(db),
    hasher: createPasswordHasher(),
    sessionTokens: createSessionTokens({ secret: config.SESSION_JWT_SECRET, ttlSeconds: config.SESSION_TTL_SECONDS, issuer: SERVICE }),
    queueTokens: createQueueTokens({ secret: config.QUEUE_JWT_SECRET }),
    rooms,
    proofOfWork: createProofOfWork({ secret: config.QUEUE_JWT_SECRET, redis, keyPrefix: config.QUEUE_KEY_PREFIX }),
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
  });

  await redis.connect();
  await consumer.start();
  // Each tick admits and refreshes this process's snapshot, from which polls and streams are answered.
  const ticker = startAdmissionTicker({ waitingRoom: { admit: () => rooms.admitAll(logger) }, intervalMs: config.ADMISSION_TICK_MS, logger });
  const opsServer = await startServer(ops, { port: config.GATEWAY_OPS_PORT, host: config.GATEWAY_OPS_HOST });
  const server = await startServer(app, { port: config.port, host: config.HOST, limits: publicServerLimits(config) });
  logger.info(
    { port: server.port, host: config.HOST, opsPort: opsServer.port, opsHost: config.GATEWAY_OPS_HOST },
    `${SERVICE} listening (readiness and metrics on the ops port)`,
  );

  onShutdownSignal(
    logger,
    async () => {
      markShuttingDown();
      streams.closeAll();
      await server.close(config.SHUTDOWN_TIMEOUT_MS / 2);
      await ticker.stop();
      await consumer.stop();
      await kafkaCheck.close();
      redis.disconnect();
      await db.destroy();
      // Last, so probes see "shutting-down" while the rest stops.
      await opsServer.close(1_000);
      await shutdownTelemetry();
    },
    config.SHUTDOWN_TIMEOUT_MS,
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
