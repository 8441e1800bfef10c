import { Gauge, type Logger, type Registry } from '@ticketing/telemetry';
import { Kafka, logLevel, Partitioners, type LogEntry, type ProducerConfig } from 'kafkajs';

const levelName: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose own logs go through the service's JSON logger (warnings and up). */
export function createKafka({ brokers, clientId, logger }: { brokers: string[]; clientId: string; logger: Logger }): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 3_000,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[levelName[level] ?? 'info'](rest, message);
      },
  });
}

/**
 * Whether the cluster answers a metadata request, over one lazily connected admin client; calls made
 * while one is in flight share it (a hung broker does not pile up requests). With `metrics`, the
 * gauge `kafka_reachable` (1 or 0) is computed the same way on each scrape. This is for
 * `/health/details` and alerts, not readiness: the outbox keeps events while the broker is away.
 */
export function kafkaReachability(kafka: Kafka, { metrics, timeoutMs = 2_000 }: { metrics?: Registry; timeoutMs?: number } = {}): { check(): Promise<void>; close(): Promise<void> } {
  let admin: ReturnType<Kafka['admin']> | undefined;
  let inFlight: Promise<void> | undefined;
  async function ask(): Promise<void> {
    if (!admin) {
      const candidate = kafka.admin({ retry: { retries: 0 } });
      try {
        await candidate.connect();
      } catch (error) {
        await candidate.disconnect().catch(() => undefined);
        throw error;
      }
      admin = candidate;
    }
    try {
      await admin.describeCluster();
    } catch (error) {
      const stale = admin;
      admin = undefined;
      await stale.disconnect().catch(() => undefined);
      throw error;
    }
  }
  const check = () => (inFlight ??= ask().finally(() => (inFlight = undefined)));
  if (metrics && !metrics.getSingleMetric('kafka_reachable')) {
    new Gauge({
      name: 'kafka_reachable',
      help: 'Whether the Kafka cluster answered a metadata request at scrape time (1) or not (0)',
      registers: [metrics],
      async collect() {
        const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref());
        this.set(await Promise.race([check(), timeout]).then(() => 1, () => 0));
      },
    });
  }
  return {
    check,
    async close() {
      await inFlight?.catch(() => undefined);
      await admin?.disconnect().catch(() => undefined);
      admin = undefined;
    },
  };
}

/**
 * Producer settings every producer here uses: no topic auto-creation (topics are provisioned with
 * their partitions and dead-letter twins) and the Java-compatible murmur2 partitioner, so a key lands
 * on the same partition whichever client wrote it.
 */
export const PRODUCER_DEFAULTS: ProducerConfig = {
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
};

type Admin = ReturnType<Kafka['admin']>;

/**
 * Creates the topics that do not exist yet and waits until every partition has a leader.
 * In KRaft mode a new topic reaches the broker's metadata a moment after the controller accepts it;
 * kafkajs' `waitForLeaders` gives up on the UNKNOWN_TOPIC_OR_PARTITION it sees meanwhile, so this
 * tolerates that error and waits on the metadata itself. Returns the names it created.
 */
export async function createTopics(admin: Admin, specs: { name: string; partitions: number }[], timeoutMs = 30_000): Promise<string[]> {
  const present = new Set(await admin.listTopics());
  const missing = specs.filter((t) => !present.has(t.name));
  if (missing.length === 0) return [];
  try {
    await admin.createTopics({ topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions })), waitForLeaders: true, timeout: timeoutMs });
  } catch (error) {
    if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
  }
  const names = missing.map((t) => t.name);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await admin
      .fetchTopicMetadata({ topics: names })
      .then(({ topics }) => topics.length === names.length && topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))
      .catch(() => false);
    if (ready) return names;
    if (Date.now() > deadline) throw new Error(`no leaders for ${names.length} new topic(s) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
