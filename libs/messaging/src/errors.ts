/** Base of messaging errors; `retriable` says whether trying the same work again may succeed. */
export class MessagingError extends Error {
  constructor(message: string, readonly retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The event does not satisfy its contract (unknown type, wrong version, failing schema). */
export class ContractViolationError extends MessagingError {
  constructor(message: string, readonly issues: string[] = []) {
    super(issues.length ? `${message}: ${issues.join('; ')}` : message, false);
  }
}

/**
 * Thrown by a handler when retrying cannot help (the message is wrong, not the moment):
 * the message goes to the dead-letter topic at once.
 */
export class NonRetriableError extends MessagingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, false, options);
  }
}

/** kafkajs errors that say the broker could not be reached or answered in time, not what was sent. */
const BROKER_TROUBLE_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSLockTimeout',
]);

/** Broker error codes of a cluster in trouble (leaders moving, replicas away), not of one message or topic. */
const BROKER_TROUBLE_CODES = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'BROKER_NOT_AVAILABLE',
  'REPLICA_NOT_AVAILABLE',
  'NETWORK_EXCEPTION',
  'REQUEST_TIMED_OUT',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'KAFKA_STORAGE_ERROR',
  'NOT_CONTROLLER',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'THROTTLING_QUOTA_EXCEEDED',
]);

type KafkaErrorLike = { name?: string; type?: string; originalError?: unknown; cause?: unknown };

/** The error and what caused it (kafkajs wraps the last attempt's error in `originalError`). */
function errorChain(error: unknown): KafkaErrorLike[] {
  const chain: KafkaErrorLike[] = [];
  let current = error as KafkaErrorLike | undefined;
  while (current && typeof current === 'object' && chain.length < 10) {
    chain.push(current);
    current = (current.originalError ?? current.cause) as KafkaErrorLike | undefined;
  }
  return chain;
}

/**
 * True when a failed send says the broker was away or in trouble (connection refused or lost,
 * timeouts, leaders moving): the outbox keeps such rows and retries them however long it lasts.
 * False when the failure is the message's own (an unknown topic, a message the broker refuses).
 */
export function isBrokerTrouble(error: unknown): boolean {
  return errorChain(error).some((e) => (e.name !== undefined && BROKER_TROUBLE_ERRORS.has(e.name)) || (e.type !== undefined && BROKER_TROUBLE_CODES.has(e.type)));
}

/** A short name for why a send failed: the broker's error code when it gave one, else the error's class. */
export function sendFailureReason(error: unknown): string {
  const chain = errorChain(error);
  return chain.find((e) => e.type)?.type ?? chain.at(-1)?.name ?? 'Error';
}
