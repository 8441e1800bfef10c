import './instrument'; // must stay first
import { createDatabase, createVacuumJob, pingDatabase } from '@ticketing/db';
import { createIdempotencyPurge, createIdempotencyStore, createInternalAuth, onShutdownSignal, reportOnly, startServer } from '@ticketing/http';
import { createEventConsumer, createKafka, createOutboxRelay, createOutboxWriter, kafkaReachability, messagingSettings } from '@ticketing/messaging';
import { createLogger, createMetricsRegistry, shutdownTelemetry } from '@ticketing/telemetry';
import { createApp } from './app';
import { createPaymentWaiter } from './checkout/payment-waiter';
import { createSagaRetrier } from './checkout/saga-retrier';
import { sagaHandlers } from './checkout/saga.consumer';
import { createSagaMetrics } from './checkout/saga.metrics';
import { loadPaymentConfig } from './config';
import { combineHandlers } from './consumers';
import { createHoldArrivals } from './holds/hold-arrivals';
import { payableHoldHandlers } from './holds/payable-holds.consumer';

const SERVICE = 'payment';

async function main(): Promise<void> {
  const config = loadPaymentConfig();
  const logger = createLogger(SERVICE, config.LOG_LEVEL);
  const registry = createMetricsRegistry(SERVICE);
  const db = createDatabase({ url: config.databaseUrl, poolMax: config.DATABASE_POOL_MAX, applicationName: SERVICE });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID ?? SERVICE, logger });
  const kafkaCheck = kafkaReachability(kafka, { metrics: registry });
  const messaging = messagingSettings(config, SERVICE);
  const relay = createOutboxRelay({ db, kafka, logger, metrics: registry, ...messaging.relay });
  const outbox = createOutboxWriter({ topicPrefix: messaging.topicPrefix, onCommitted: () => relay.wake() });
  const metrics = createSagaMetrics(registry, db, config.SAGA_STALL_AFTER_MS);
  const waiter = createPaymentWaiter({ db, databaseUrl: config.databaseUrl, logger });
  const holdArrivals = createHoldArrivals();
  const consumer = createEventConsumer({
    kafka,
    db,
    logger,
    ...messaging.consumer,
    // The hold projection must see every hold, including those made before this group first joined.
    fromBeginning: true,
    handlers: combineHandlers(
      payableHoldHandlers(holdArrivals),
      sagaHandlers({ outbox, logger, metrics, waiter, stepTimeoutMs: config.SAGA_STEP_TIMEOUT_MS }),
    ),
  });
  const retrier = createSagaRetrier({
    db,
    outbox,
    logger,
    metrics,
    stepTimeoutMs: config.SAGA_STEP_TIMEOUT_MS,
    maxDelayMs: config.SAGA_RETRY_MAX_MS,
    stallAfterMs: config.SAGA_STALL_AFTER_MS,
    intervalMs: config.SAGA_RETRY_SCAN_INTERVAL_MS,
  });
  // A claim outlives the longest a POST can take, so only a dead request's key is ever taken over.
  const idempotency = createIdempotencyStore({ db, lockMs: config.PAYMENT_SYNC_WAIT_MS + config.HOLD_LOOKUP_WAIT_MS + 10_000 });
  const { app, markShuttingDown } = createApp({
    logger,
    metrics: registry,
    readiness: { postgres: () => pingDatabase(db), kafka: reportOnly(kafkaCheck.check) },
    internalAuth: createInternalAuth(config.INTERNAL_AUTH_SECRET),
    db,
    outbox,
    idempotency,
    waiter,
    holdArrivals,
    sagaMetrics: metrics,
    syncWaitMs: config.PAYMENT_SYNC_WAIT_MS,
    holdLookupWaitMs: config.HOLD_LOOKUP_WAIT_MS,
    stepTimeoutMs: config.SAGA_STEP_TIMEOUT_MS,
    stallAfterMs: config.SAGA_STALL_AFTER_MS,
  });

  await waiter.start();
  const vacuum = createVacuumJob({ db, logger, intervalMs: config.VACUUM_INTERVAL_MS });
  await relay.start();
  vacuum.start();
  await consumer.start();
  retrier.start();
  const purge = createIdempotencyPurge({ store: idempotency, logger, intervalMs: config.IDEMPOTENCY_PURGE_INTERVAL_MS });
  purge.start();
  const server = await startServer(app, { port: config.port, host: config.HOST });
  logger.info({ port: server.port, host: config.HOST, syncWaitMs: config.PAYMENT_SYNC_WAIT_MS, stepTimeoutMs: config.SAGA_STEP_TIMEOUT_MS }, `${SERVICE} listening`);

  onShutdownSignal(
    logger,
    async () => {
      markShuttingDown();
      await purge.stop();
      await server.close(config.SHUTDOWN_TIMEOUT_MS / 2);
      await consumer.stop();
      await retrier.stop();
      await vacuum.stop();
      await relay.stop();
      await waiter.stop();
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
