import * as net from 'node:net';
import { ensureKafka, kafkaAnswers, LOCAL_KAFKA_BROKER } from './kafka';
import { DEFAULT_POSTGRES_URL, ensurePostgres } from './postgres';
import { defaultLog, redactUrl, type Log } from './process';
import { DEFAULT_REDIS_URL, ensureRedis } from './redis';
import { waitFor } from './wait';

export interface TestStackEnv {
  /** A PostgreSQL server URL; tests create their own databases on it. */
  DATABASE_URL: string;
  REDIS_URL: string;
  KAFKA_BROKERS: string;
}

export interface TestStack {
  env: TestStackEnv;
  /** Stops only what ensureTestStack started (containers, or local servers it had to start). */
  teardown(): Promise<void>;
}

type Key = keyof TestStackEnv;
type Stopper = { name: string; stop(): Promise<void> };

const KEYS: Key[] = ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS'];

/** True when a Docker-compatible runtime answers (testcontainers' own detection). */
async function containerRuntimeAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 15_000).unref());
    await Promise.race([getContainerRuntimeClient(), timeout]);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts the servers in `missing` as containers (postgres:15, redis:7, apache/kafka:3.9.1). */
async function startContainers(missing: Key[], env: Partial<TestStackEnv>, stoppers: Stopper[], log: Log): Promise<void> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  const host = (await getContainerRuntimeClient()).info.containerRuntime.host;

  if (missing.includes('DATABASE_URL')) {
    log('starting postgres:15 container');
    const c = await new GenericContainer('postgres:15')
      .withEnvironment({ POSTGRES_USER: 'postgres', POSTGRES_HOST_AUTH_METHOD: 'trust' })
      .withTmpFs({ '/var/lib/postgresql/data': 'rw' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .withStartupTimeout(120_000)
      .start();
    stoppers.push({ name: 'postgres container', stop: async () => void (await c.stop()) });
    env.DATABASE_URL = `postgres://postgres@${c.getHost()}:${c.getMappedPort(5432)}/postgres`;
  }
  if (missing.includes('REDIS_URL')) {
    log('starting redis:7 container');
    const c = await new GenericContainer('redis:7')
      .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
      .withStartupTimeout(60_000)
      .start();
    stoppers.push({ name: 'redis container', stop: async () => void (await c.stop()) });
    env.REDIS_URL = `redis://${c.getHost()}:${c.getMappedPort(6379)}`;
  }
  if (missing.includes('KAFKA_BROKERS')) {
    // Clients must reach the broker at the address it advertises, so the host port is fixed
    // before start; the broker talks to itself on an internal listener.
    const port = await freePort();
    log(`starting apache/kafka:3.9.1 container on ${host}:${port}`);
    const c = await new GenericContainer('apache/kafka:3.9.1')
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,BROKER://:9094,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port},BROKER://localhost:9094`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'BROKER',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_NUM_PARTITIONS: '6',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      })
      .withExposedPorts({ container: 9092, host: port })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withStartupTimeout(120_000)
      .start();
    stoppers.push({ name: 'kafka container', stop: async () => void (await c.stop()) });
    const brokers = [`${host}:${port}`];
    await waitFor(() => kafkaAnswers(brokers), { timeoutMs: 60_000, label: `Kafka container at ${brokers[0]}`, intervalMs: 500 });
    env.KAFKA_BROKERS = brokers.join(',');
  }
}

/** Makes sure the servers in `missing` run on this machine, reusing running ones (e.g. from npm start). */
async function ensureLocal(missing: Key[], env: Partial<TestStackEnv>, stoppers: Stopper[], log: Log): Promise<void> {
  if (missing.includes('DATABASE_URL')) {
    const url = process.env.POSTGRES_URL ?? DEFAULT_POSTGRES_URL;
    const pg = await ensurePostgres({ url, log });
    if (pg.startedByUs) stoppers.push({ name: 'PostgreSQL', stop: pg.stop });
    env.DATABASE_URL = url;
  }
  if (missing.includes('REDIS_URL')) {
    const url = DEFAULT_REDIS_URL;
    const redis = await ensureRedis({ url, log });
    if (redis.startedByUs) stoppers.push({ name: 'Redis', stop: redis.stop });
    env.REDIS_URL = url;
  }
  if (missing.includes('KAFKA_BROKERS')) {
    const kafka = await ensureKafka({ brokers: LOCAL_KAFKA_BROKER, log });
    if (kafka.startedByUs) stoppers.push({ name: 'Kafka', stop: kafka.stop });
    env.KAFKA_BROKERS = kafka.brokers.join(',');
  }
}

async function stopAll(stoppers: Stopper[], log: Log): Promise<void> {
  for (const s of [...stoppers].reverse()) {
    await s.stop().catch((err: Error) => log(`could not stop ${s.name}: ${err.message}`));
  }
  stoppers.length = 0;
}

/**
 * Servers for the test run. Variables already set (DATABASE_URL, REDIS_URL, KAFKA_BROKERS) are used
 * as they are; the missing ones come from containers when a container runtime answers, else from
 * the local stack (running servers reused; a server this call starts is stopped by teardown()).
 */
export async function ensureTestStack(options: { log?: Log } = {}): Promise<TestStack> {
  const log = options.log ?? defaultLog;
  const env: Partial<TestStackEnv> = {};
  for (const key of KEYS) if (process.env[key]) env[key] = process.env[key];
  const missing = KEYS.filter((k) => !env[k]);
  const stoppers: Stopper[] = [];

  if (missing.length > 0) {
    try {
      if (await containerRuntimeAnswers()) await startContainers(missing, env, stoppers, log);
      else await ensureLocal(missing, env, stoppers, log);
    } catch (err) {
      await stopAll(stoppers, log);
      throw err;
    }
  }
  const ready = env as TestStackEnv;
  log(`test servers: DATABASE_URL=${redactUrl(ready.DATABASE_URL)} REDIS_URL=${redactUrl(ready.REDIS_URL)} KAFKA_BROKERS=${ready.KAFKA_BROKERS}`);
  return { env: ready, teardown: () => stopAll(stoppers, log) };
}
