import './instrument'; // must stay first
import { createDatabase, createVacuumJob, pingDatabase } from '@ticketing/db';
import { createInternalAuth, onShutdownSignal, reportOnly, startServer } from '@ticketing/http';
import { createEventConsumer, createKafka, createOutboxRelay, createOutboxWriter, kafkaReachability, messagingSettings } from '@ticketing/messaging';
import { createLogger, createMetricsRegistry, shutdownTelemetry } from '@ticketing/telemetry';
import { createApp } from './app';
import { loadReservationConfig } from './config';
import { confirmRequestedHandlers } from './confirmation/confirm-reservation.consumer';
import { createHoldExpirySweeper } from './holds/hold-expiry.sweeper';
import { schedulePublishedHandlers } from './seats/schedule-published.consumer';

const SERVICE = 'reservation';

async function main(): Promise<void> {
  const config = loadReservationConfig();
  const logger = createLogger(SERVICE, config.LOG_LEVEL);
  const metrics = createMetricsRegistry(SERVICE);
  const db = createDatabase({ url: config.databaseUrl, poolMax: config.DATABASE_POOL_MAX, applicationName: SERVICE });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID ?? SERVICE, logger });
  const kafkaCheck = kafkaReachability(kafka, { metrics });
  const messaging = messagingSettings(config, SERVICE);
  const relay = createOutboxRelay({ db, kafka, logger, metrics, ...messaging.relay });
  const outbox = createOutboxWriter({ topicPrefix: messaging.topicPrefix, onCommitted: () => relay.wake() });
  const consumer = createEventConsumer({
    kafka,
    db,
    logger,
    ...messaging.consumer,
    handlers: { ...schedulePublishedHandlers(), ...confirmRequestedHandlers(outbox) },
  });
  const sweeper = createHoldExpirySweeper({
    db,
    outbox,
    logger,
    intervalMs: config.HOLD_SWEEP_INTERVAL_MS,
    batchSize: config.HOLD_SWEEP_BATCH_SIZE,
    holdTtlMs: config.HOLD_TTL_SECONDS * 1000,
  });
  const { app, markShuttingDown } = createApp({
    logger,
    metrics,
    readiness: { postgres: () => pingDatabase(db), kafka: reportOnly(kafkaCheck.check) },
    internalAuth: createInternalAuth(config.INTERNAL_AUTH_SECRET),
    db,
    outbox,
    holdTtlSeconds: config.HOLD_TTL_SECONDS,
    holdLimit: config.HOLD_LIMIT,
    onHeld: (holdExpiresAt) => sweeper.holdMade(holdExpiresAt),
  });

  const vacuum = createVacuumJob({ db, logger, intervalMs: config.VACUUM_INTERVAL_MS });
  await relay.start();
  vacuum.start();
  await consumer.start();
  sweeper.start();
  const server = await startServer(app, { port: config.port, host: config.HOST });
  logger.info({ port: server.port, host: config.HOST, holdTtlSeconds: config.HOLD_TTL_SECONDS, holdLimit: config.HOLD_LIMIT }, `${SERVICE} listening`);

  onShutdownSignal(
    logger,
    async () => {
      markShuttingDown();
      await server.close(config.SHUTDOWN_TIMEOUT_MS / 2);
      await consumer.stop();
      await sweeper.stop();
      await vacuum.stop();
      await relay.stop();
      await kafkaCheck.close();
      await db.destroy();
      await shutdownTelemetry();
    },
    config.SHUTDOWN_TIMEOUT_MS,
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
