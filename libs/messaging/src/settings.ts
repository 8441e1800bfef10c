import type { CommonConfig } from '@ticketing/config';

/**
 * The relay, outbox and consumer settings every service takes from its configuration, in one
 * place (the service runtime takes them from here): a new messaging setting is wired here, not per service.
 */
export function messagingSettings(config: CommonConfig & { databaseUrl: string }, service: string) {
  const topicPrefix = config.KAFKA_TOPIC_PREFIX;
  return {
    relay: {
      databaseUrl: config.databaseUrl,
      pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
      batchSize: config.OUTBOX_BATCH_SIZE,
      maxAttempts: config.OUTBOX_MAX_ATTEMPTS,
      vacuumIntervalMs: config.OUTBOX_VACUUM_INTERVAL_MS,
      retentionMs: config.OUTBOX_RETENTION_MS,
      purgeIntervalMs: config.MESSAGING_PURGE_INTERVAL_MS,
      purgeBatchSize: config.MESSAGING_PURGE_BATCH_SIZE,
    },
    topicPrefix,
    consumer: {
      groupId: `${topicPrefix}${service}`,
      topicPrefix,
      maxAttempts: config.CONSUMER_MAX_ATTEMPTS,
      sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
      maxWaitTimeInMs: config.KAFKA_FETCH_MAX_WAIT_MS,
      processedRetentionMs: config.PROCESSED_MESSAGES_RETENTION_MS,
      processedPurgeIntervalMs: config.MESSAGING_PURGE_INTERVAL_MS,
      processedPurgeBatchSize: config.MESSAGING_PURGE_BATCH_SIZE,
    },
  };
}
