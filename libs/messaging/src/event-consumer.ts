import { deadLetterTopic, topicFor, type EventEnvelope, type EventPayload, type EventType } from '@ticketing/contracts';
import { isTransientDatabaseError } from '@ticketing/db';
import type { Logger } from '@ticketing/telemetry';
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Knex } from 'knex';
import { decodeEvent, type AnyEnvelope } from './codec';
import { ContractViolationError, MessagingError } from './errors';
import { PRODUCER_DEFAULTS } from './kafka';
import { createProcessedMessagesPurge } from './retention';
import { PROCESSED_TABLE } from './schema';
import { withConsumerSpan } from './tracing';

export interface HandlerContext {
  /** The transaction the message id is recorded in: write every effect through it. */
  trx: Knex.Transaction;
  topic: string;
  partition: number;
  offset: string;
}

export type EventHandler<T extends EventType> = (event: EventEnvelope<T, EventPayload<T>>, ctx: HandlerContext) => Promise<void>;
export type EventHandlers = { [T in EventType]?: EventHandler<T> };

export interface EventConsumerOptions {
  kafka: Kafka;
  db: Knex;
  logger: Logger;
  /** Kafka consumer group, and the name message ids are recorded under. */
  groupId: string;
  handlers: EventHandlers;
  topicPrefix?: string;
  /** A handler failing this many times in a row sends the message to the dead-letter topic. */
  maxAttempts?: number;
  retryBaseMs?: number;
  partitionsConsumedConcurrently?: number;
  /** Messages of one partition applied together in one transaction when they are waiting (default 100). */
  maxBatchSize?: number;
  fromBeginning?: boolean;
  /** How often consumed offsets are committed to the group (default 1 s; also at stop and before a rebalance). */
  commitIntervalMs?: number;
  /**
   * How long the broker may hold a fetch that finds nothing new (default 1 s). A message that arrives
   * meanwhile is returned at once, so this sets what an idle consumer costs, not the latency: every
   * fetch lists and answers every assigned partition (54 for a consumer of nine topics).
   */
  maxWaitTimeInMs?: number;
  /**
   * How long the group waits for a silent member before giving its partitions to others (kafkajs'
   * default is 30 s, which stalls those partitions that long after a crash). Heartbeats go every tenth of it.
   */
  sessionTimeoutMs?: number;
  /**
   * How long message ids are kept to recognise a redelivery (default 24 h), purged every
   * `processedPurgeIntervalMs` (default 60 s). Keep ids longer than a copy can still arrive: the
   * topics' log retention and a crashed writer's time to re-send.
   */
  processedRetentionMs?: number;
  processedPurgeIntervalMs?: number;
  processedPurgeBatchSize?: number;
  onProcessed?: (event: AnyEnvelope, outcome: 'applied' | 'duplicate') => void;
  onDeadLettered?: (reason: string, where: { topic: string; partition: number; message: KafkaMessage }) => void;
}

export interface EventConsumer {
  start(): Promise<void>;
  /** Stops fetching, lets the message in flight finish, commits offsets, disconnects. */
  stop(): Promise<void>;
}

interface Decoded {
  message: KafkaMessage;
  event: AnyEnvelope;
}

type Outcome = { status: 'applied' | 'duplicate'; event: AnyEnvelope } | { status: 'dead-letter'; reason: string; error: Error; attempts: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An idempotent consumer: each message id is recorded in the same transaction as the handler's
 * effect, so a redelivered message changes nothing. Errors are never swallowed: infrastructure
 * failures are rethrown (Kafka delivers the message again), a handler failing `maxAttempts` times or a
 * message breaking its contract goes to `<topic>.dlq` with the reason, and the partition moves on.
 *
 * Messages already waiting on a partition are applied together in one transaction (in order, each
 * in its own span); if that fails, they are applied one at a time so only the culprit is retried or
 * dead-lettered. Handlers must write through `ctx.trx`; anything else they touch must be idempotent.
 */
export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { kafka, db, logger, groupId, handlers, topicPrefix = '', maxAttempts = 5, retryBaseMs = 50, maxBatchSize = 100, sessionTimeoutMs = 10_000 } = options;
  const log = logger.child({ component: 'event-consumer', groupId });
  const types = Object.keys(handlers) as EventType[];
  const topicToType = new Map(types.map((type) => [topicFor(type, topicPrefix), type]));
  let consumer: Consumer | undefined;
  let dlqProducer: Producer | undefined;
  const purge = createProcessedMessagesPurge({
    db,
    logger,
    retentionMs: options.processedRetentionMs ?? 24 * 60 * 60 * 1000,
    intervalMs: options.processedPurgeIntervalMs ?? 60_000,
    batchSize: options.processedPurgeBatchSize,
  });

  function handlerFor(event: AnyEnvelope, topic: string): EventHandler<EventType> {
    const handler = handlers[event.type] as EventHandler<EventType> | undefined;
    if (!handler) throw new ContractViolationError(`no handler for ${event.type} on ${topic}`);
    return handler;
  }

  function decode(topic: string, message: KafkaMessage): AnyEnvelope {
    const event = decodeEvent(message.value);
    const expectedType = topicToType.get(topic);
    if (expectedType && expectedType !== event.type) throw new ContractViolationError(`${event.type} arrived on the topic of ${expectedType}`);
    handlerFor(event, topic);
    return event;
  }

  /** Applies a run of messages in one transaction; returns each one's outcome. */
  async function applyTogether(topic: string, partition: number, run: Decoded[], progress = { at: 0 }): Promise<('applied' | 'duplicate')[]> {
    return db.transaction(async (trx) => {
      const inserted: { message_id: string }[] = await trx(PROCESSED_TABLE)
        .insert(run.map(({ event }) => ({ consumer: groupId, message_id: event.id })))
        .onConflict(['consumer', 'message_id'])
        .ignore()
        .returning('message_id');
      const fresh = new Set(inserted.map((r) => r.message_id));
      const outcomes: ('applied' | 'duplicate')[] = [];
      for (const [k, { message, event }] of run.entries()) {
        progress.at = k;
        // delete(): the same id twice in one run is applied once.
        if (!fresh.delete(event.id)) {
          outcomes.push('duplicate');
          continue;
        }
        await withConsumerSpan(message, topic, partition, () => handlerFor(event, topic)(event, { trx, topic, partition, offset: message.offset }));
        outcomes.push('applied');
      }
      return outcomes;
    });
  }

  /** Applies one message with retries; says whether it was applied, a duplicate, or must be dead-lettered. */
  async function applyAlone(topic: string, partition: number, { message, event }: Decoded, firstError?: unknown): Promise<Outcome> {
    for (let attempt = 1; ; attempt++) {
      if (attempt === 1 && firstError !== undefined) {
        // Its first attempt already failed inside a batch: count it, don't repeat it.
        const outcome = await failed(firstError, attempt);
        if (outcome) return outcome;
        continue;
      }
      try {
        const [status] = await applyTogether(topic, partition, [{ message, event }]);
        return { status, event };
      } catch (error) {
        const outcome = await failed(error, attempt);
        if (outcome) return outcome;
      }
    }

    /** Dead-letter outcome when retrying cannot help or attempts are used up; otherwise waits to retry. */
    async function failed(error: unknown, attempt: number): Promise<Outcome | undefined> {
      // Infrastructure is down: not the message's fault. Rethrow so Kafka redelivers it later.
      if (isTransientDatabaseError(error)) throw error;
      const retriable = !(error instanceof MessagingError) || error.retriable;
      if (!retriable || attempt >= maxAttempts) {
        const reason = error instanceof ContractViolationError ? 'CONTRACT_VIOLATION' : retriable ? 'MAX_ATTEMPTS' : 'NON_RETRIABLE';
        return { status: 'dead-letter', reason, error: error as Error, attempts: attempt };
      }
      log.warn({ err: error, topic, partition, offset: message.offset, attempt }, 'handler failed; retrying');
      await sleep(retryBaseMs * 2 ** (attempt - 1));
      return undefined;
    }
  }

  async function deadLetter(topic: string, partition: number, message: KafkaMessage, reason: string, error: Error, attempts: number): Promise<void> {
    const headers: IHeaders = {
      ...message.headers,
      'dlq-reason': reason,
      'dlq-error': String(error.message).slice(0, 4000),
      'dlq-attempts': String(attempts),
      'dlq-original-topic': topic,
      'dlq-original-partition': String(partition),
      'dlq-original-offset': message.offset,
      'dlq-consumer-group': groupId,
      'dlq-failed-at': new Date().toISOString(),
    };
    // If this send fails, the error propagates: the message is not committed and comes back.
    await dlqProducer!.send({
      topic: deadLetterTopic(topic),
      acks: -1,
      messages: [{ key: message.key, value: message.value, headers }],
    });
    log.error({ err: error, reason, topic, partition, offset: message.offset, attempts }, 'message sent to dead-letter topic');
    options.onDeadLettered?.(reason, { topic, partition, message });
  }

  async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = batch;
    let i = 0;
    while (i < messages.length && isRunning() && !isStale()) {
      const run: Decoded[] = [];
      let poison: Error | undefined;
      while (i + run.length < messages.length && run.length < maxBatchSize) {
        const message = messages[i + run.length];
        try {
          run.push({ message, event: decode(topic, message) });
        } catch (error) {
          poison = error as Error;
          break;
        }
      }
      if (run.length === 0) {
        await deadLetter(topic, partition, messages[i], 'CONTRACT_VIOLATION', poison!, 0);
        resolveOffset(messages[i].offset);
        i++;
        continue;
      }
      let outcomes: Outcome[];
      const progress = { at: 0 };
      try {
        outcomes = (await applyTogether(topic, partition, run, progress)).map((status, k) => ({ status, event: run[k].event }));
      } catch (error) {
        if (isTransientDatabaseError(error)) throw error;
        // The transaction rolled back: apply one at a time, so only the failing message is retried.
        outcomes = [];
        for (const [k, item] of run.entries()) {
          const outcome = await applyAlone(topic, partition, item, k === progress.at ? error : undefined);
          if (outcome.status === 'dead-letter') await deadLetter(topic, partition, item.message, outcome.reason, outcome.error, outcome.attempts);
          outcomes.push(outcome);
          resolveOffset(item.message.offset); // progress kept if a later one meets a database outage
        }
      }
      resolveOffset(run[run.length - 1].message.offset);
      for (const outcome of outcomes) {
        if (outcome.status !== 'dead-letter') options.onProcessed?.(outcome.event, outcome.status);
      }
      i += run.length;
      await heartbeat();
    }
  }

  return {
    async start() {
      purge.start();
      dlqProducer = kafka.producer(PRODUCER_DEFAULTS);
      await dlqProducer.connect();
      consumer = kafka.consumer({
        groupId,
        allowAutoTopicCreation: false,
        maxWaitTimeInMs: options.maxWaitTimeInMs ?? 1_000,
        retry: { retries: 10 },
        sessionTimeout: sessionTimeoutMs,
        heartbeatInterval: Math.max(500, Math.floor(sessionTimeoutMs / 10)),
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [...topicToType.keys()], fromBeginning: options.fromBeginning ?? true });
      await consumer.run({
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 6,
        // Offsets are committed at most once a second (and at stop and before a rebalance), not after
        // every batch (patches/kafkajs: an OffsetCommit round trip per batch was a broker write and a
        // wait on every hop of a saga). A crash redelivers up to that much: the processed-message ids
        // make a redelivery change nothing.
        autoCommitInterval: options.commitIntervalMs ?? 1_000,
        eachBatchAutoResolve: false,
        eachBatch,
      });
    },
    async stop() {
      await purge.stop();
      await consumer?.disconnect();
      await dlqProducer?.disconnect();
      consumer = undefined;
      dlqProducer = undefined;
    },
  };
}
