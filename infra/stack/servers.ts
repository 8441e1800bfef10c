import { ensureKafka } from './kafka';
import { DEFAULT_POSTGRES_URL, ensurePostgres } from './postgres';
import type { Log } from './process';
import { DEFAULT_REDIS_URL, ensureRedis } from './redis';

export interface Servers {
  postgresUrl: string;
  redisUrl: string;
  brokers: string[];
  /** Names of the servers this call started (the others were already running). */
  started: string[];
  /** Stops, in reverse order, only what this call started. */
  stop(): Promise<void>;
}

/**
 * Finds or starts PostgreSQL, Redis and Kafka (POSTGRES_URL / REDIS_URL / KAFKA_BROKERS or the local
 * defaults); `persistentRedis` makes sure Redis keeps its data across a restart (see ensureRedis).
 */
export async function ensureServers({ log, persistentRedis = false }: { log: Log; persistentRedis?: boolean }): Promise<Servers> {
  const postgresUrl = process.env.POSTGRES_URL ?? DEFAULT_POSTGRES_URL;
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const started: { name: string; stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const s of started.splice(0).reverse()) await s.stop().catch((err: Error) => log(`could not stop ${s.name}: ${err.message}`));
  };
  try {
    const pg = await ensurePostgres({ url: postgresUrl, log });
    if (pg.startedByUs) started.push({ name: 'PostgreSQL', stop: pg.stop });
    const redis = await ensureRedis({ url: redisUrl, log, persistent: persistentRedis });
    if (redis.startedByUs) started.push({ name: 'Redis', stop: redis.stop });
    const kafka = await ensureKafka({ log });
    if (kafka.startedByUs) started.push({ name: 'Kafka', stop: kafka.stop });
    return { postgresUrl, redisUrl, brokers: kafka.brokers, started: started.map((s) => s.name), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
