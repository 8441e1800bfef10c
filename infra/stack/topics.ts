import { Kafka, logLevel } from 'kafkajs';
import { allTopics } from '@ticketing/contracts';
import { createTopics } from '@ticketing/messaging';
import { parseBrokers } from './kafka';
import { defaultLog, type Log } from './process';

export interface EnsureTopicsOptions {
  /** `host:port` list or comma-separated string; default KAFKA_BROKERS or 127.0.0.1:9092. */
  brokers?: string | string[];
  /** Prepended to every topic name (tests use one per run). */
  prefix?: string;
  log?: Log;
}

export interface EnsuredTopics {
  created: string[];
  existing: string[];
}

/** Creates every topic of `allTopics(prefix)` (dead-letter topics included) that does not exist yet. */
export async function ensureTopics(options: EnsureTopicsOptions = {}): Promise<EnsuredTopics> {
  const brokers = parseBrokers(options.brokers ?? process.env.KAFKA_BROKERS);
  const log = options.log ?? defaultLog;
  const wanted = allTopics(options.prefix ?? '');
  // Silent: kafkajs logs the expected KRaft metadata race as ERROR; real failures are thrown.
  const admin = new Kafka({ clientId: 'stack-provision', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const created = new Set(await createTopics(admin, wanted));
    const result = { created: [...created], existing: wanted.filter((t) => !created.has(t.name)).map((t) => t.name) };
    log(`topics${options.prefix ? ` (prefix ${options.prefix})` : ''}: ${result.created.length} created, ${result.existing.length} already there`);
    return result;
  } finally {
    await admin.disconnect();
  }
}
