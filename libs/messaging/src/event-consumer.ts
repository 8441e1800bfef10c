import { deadLetterTopic, topicFor, type EventEnvelope, type EventPayload, type EventType } from '@ticketing/contracts';
import { isTransientDatabaseError } from '@ticketing/db';
import type { Logger } from '@ticketing/telemetry';
import type { Consumer, EachMessagePayload, IHeaders, Kafka, Producer } from 'kafkajs';
import type { Knex } from 'knex';
import { decodeEvent, type AnyEnvelope } from './codec';
import { ContractViolationError, MessagingError } from './errors';
import { PRODUCER_DEFAULTS } from './kafka';
import { PROCESSED_TABLE } from './schema';

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
  fromBeginning?: boolean;
  onProcessed?: (event: AnyEnvelope, outcome: 'applied' | 'duplicate') => void;
  onDeadLettered?: (reason: string, payload: EachMessagePayload) => void;
}

export interface EventConsumer {
  start(): Promise<void>;
  /** Stops fetching, lets the message in flight finish, commits offsets, disconnects. */
  stop(): Promise<void>;
}

type Outcome = { status: 'applied' | 'duplicate'; event: AnyEnvelope } | { status: 'dead-letter'; reason: string; error: Error; attempts: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An idempotent consumer: each message id is recorded in the same transaction as the handler's
 * effect, so a redelivered message changes nothing. Errors are never swallowed: infrastructure
 * failures are rethrown (Kafka delivers the message again), a handler failing `maxAttempts` times or a
 * message breaking its contract goes to `<topic>.dlq` with the reason, and the partition moves on.
 */
export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { kafka, db, logger, groupId, handlers, topicPrefix = '', maxAttempts = 5, retryBaseMs = 50 } = options;
  const log = logger.child({ component: 'event-consumer', groupId });
  const types = Object.keys(handlers) as EventType[];
  const topicToType = new Map(types.map((type) => [topicFor(type, topicPrefix), type]));
  let consumer: Consumer | undefined;
  let dlqProducer: Producer | undefined;

  async function applyOnce(event: AnyEnvelope, payload: EachMessagePayload): Promise<'applied' | 'duplicate'> {
    const handler = handlers[event.type] as EventHandler<EventType> | undefined;
    if (!handler) throw new ContractViolationError(`no handler for ${event.type} on ${payload.topic}`);
    return db.transaction(async (trx) => {
      const inserted = await trx(PROCESSED_TABLE)
        .insert({ consumer: groupId, message_id: event.id })
        .onConflict(['consumer', 'message_id'])
        .ignore()
        .returning('message_id');
      if (inserted.length === 0) return 'duplicate';
      await handler(event, { trx, topic: payload.topic, partition: payload.partition, offset: payload.message.offset });
      return 'applied';
    });
  }

  async function process(payload: EachMessagePayload): Promise<Outcome> {
    let event: AnyEnvelope;
    try {
      event = decodeEvent(payload.message.value);
    } catch (error) {
      return { status: 'dead-letter', reason: 'CONTRACT_VIOLATION', error: error as Error, attempts: 0 };
    }
    const expectedType = topicToType.get(payload.topic);
    if (expectedType && expectedType !== event.type) {
      const error = new ContractViolationError(`${event.type} arrived on the topic of ${expectedType}`);
      return { status: 'dead-letter', reason: 'CONTRACT_VIOLATION', error, attempts: 0 };
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return { status: await applyOnce(event, payload), event };
      } catch (error) {
        // Infrastructure is down: not the message's fault. Rethrow so Kafka redelivers it later.
        if (isTransientDatabaseError(error)) throw error;
        const retriable = !(error instanceof MessagingError) || error.retriable;
        if (!retriable || attempt >= maxAttempts) {
          const reason = error instanceof ContractViolationError ? 'CONTRACT_VIOLATION' : retriable ? 'MAX_ATTEMPTS' : 'NON_RETRIABLE';
          return { status: 'dead-letter', reason, error: error as Error, attempts: attempt };
        }
        log.warn({ err: error, topic: payload.topic, partition: payload.partition, offset: payload.message.offset, attempt }, 'handler failed; retrying');
        await sleep(retryBaseMs * 2 ** (attempt - 1));
      }
    }
  }

  async function deadLetter(payload: EachMessagePayload, reason: string, error: Error, attempts: number): Promise<void> {
    const { topic, partition, message } = payload;
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
    options.onDeadLettered?.(reason, payload);
  }

  return {
    async start() {
      dlqProducer = kafka.producer(PRODUCER_DEFAULTS);
      await dlqProducer.connect();
      consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100, retry: { retries: 10 } });
      await consumer.connect();
      await consumer.subscribe({ topics: [...topicToType.keys()], fromBeginning: options.fromBeginning ?? true });
      await consumer.run({
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 6,
        eachMessage: async (payload) => {
          const outcome = await process(payload);
          if (outcome.status === 'dead-letter') {
            await deadLetter(payload, outcome.reason, outcome.error, outcome.attempts);
            return;
          }
          if (outcome.status === 'duplicate') {
            log.debug({ topic: payload.topic, offset: payload.message.offset }, 'duplicate message ignored');
          }
          options.onProcessed?.(outcome.event, outcome.status);
        },
      });
    },
    async stop() {
      await consumer?.disconnect();
      await dlqProducer?.disconnect();
      consumer = undefined;
      dlqProducer = undefined;
    },
  };
}
