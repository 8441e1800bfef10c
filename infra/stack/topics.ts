import { Kafka, logLevel } from 'kafkajs';
import { allTopics } from '@ticketing/contracts';
import { parseBrokers } from './kafka';
import { defaultLog, type Log } from './process';
import { waitFor } from './wait';

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
  // Silent: kafkajs logs the expected KRaft race below as ERROR; real failures are thrown.
  const admin = new Kafka({ clientId: 'stack-provision', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const present = new Set(await admin.listTopics());
    const missing = wanted.filter((t) => !present.has(t.name));
    if (missing.length > 0) {
      try {
        // Replication factor left to the broker (default.replication.factor). Resolves false
        // when another process created them first, which is fine.
        await admin.createTopics({
          topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions })),
          waitForLeaders: true,
          timeout: 30_000,
        });
      } catch (err) {
        // KRaft publishes a new topic to the broker's metadata a moment after the controller
        // accepts it; kafkajs' waitForLeaders only tolerates LEADER_NOT_AVAILABLE and gives up
        // on UNKNOWN_TOPIC_OR_PARTITION. The topics were created: wait for their leaders below.
        if ((err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
      }
      const names = missing.map((t) => t.name);
      await waitFor(
        async () => {
          const { topics } = await admin.fetchTopicMetadata({ topics: names });
          return topics.length === names.length && topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
        },
        { timeoutMs: 30_000, label: `leaders of ${names.length} new topic(s)`, intervalMs: 200 },
      );
    }
    const result = { created: missing.map((t) => t.name), existing: wanted.filter((t) => present.has(t.name)).map((t) => t.name) };
    log(`topics${options.prefix ? ` (prefix ${options.prefix})` : ''}: ${result.created.length} created, ${result.existing.length} already there`);
    return result;
  } finally {
    await admin.disconnect();
  }
}
