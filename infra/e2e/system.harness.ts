import { GATEWAY_OPS, SERVICES, SERVICE_NAMES, type ServiceName } from '@ticketing/config';
import { migrateLatest } from '@ticketing/db';
import {
  createTestDatabase,
  createTestTopics,
  deleteTestTopics,
  runTsProcess,
  testKafka,
  testServers,
  uniqueName,
  type TestDatabase,
  type TestProcess,
} from '@ticketing/testing';
import Redis from 'ioredis';
import { createServer } from 'node:net';
import path from 'node:path';

/**
 * The whole system as real processes, isolated from anything else on the same servers: each run has
 * its own Kafka topic prefix (topics and consumer groups), one fresh database per service with its
 * migrations applied, its own Redis key prefix for the waiting room and its own free ports. So it
 * runs beside `npm start` and beside other test files, and fault tests can SIGKILL and restart any
 * service on the same port and database.
 */

const REPO_ROOT = path.resolve(__dirname, '../..');
const HOST = '127.0.0.1';

/** The admin key the harness gives the gateway (`X-Admin-Key`). */
export const E2E_ADMIN_KEY = 'e2e-admin-key';

export interface SystemOptions {
  /** Extra environment per service, e.g. `{ reservation: { HOLD_TTL_SECONDS: '2' }, 'queue-gateway': { WAITING_LEASE_SECONDS: '5' } }`. */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Extra environment for every service (applied before the per-service one). */
  commonEnv?: Record<string, string>;
  /** OTLP/HTTP base URL every service exports its spans to (e.g. an `OtlpReceiver`'s url). */
  otlpEndpoint?: string;
  /** How long each service may take to answer `/health/ready` (default 60 s). */
  readyTimeoutMs?: number;
  /** Shown in database, topic and key names (default `e2e`). */
  label?: string;
  /** The brokers the services use (default the test servers'), e.g. a private broker the test pauses. */
  kafkaBrokers?: string[];
}

export interface SystemService {
  name: ServiceName;
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  database: TestDatabase;
  /** The running process; replaced by `restart`. */
  process: TestProcess;
}

export interface RunningSystem {
  /** The gateway's base URL (`http://127.0.0.1:<port>`); the public API is under `api`. */
  gatewayUrl: string;
  /** `<gatewayUrl>/api/v1` */
  api: string;
  adminKey: string;
  topicPrefix: string;
  queueKeyPrefix: string;
  services: Record<ServiceName, SystemService>;
  urls: Record<ServiceName, string>;
  /** Where each service answers `/health/ready`, `/health/details` and `/metrics`: its own url, the gateway's operations port. */
  opsUrls: Record<ServiceName, string>;
  /** Each service's own database (a knex pool the test may query, e.g. to check money after a fault run). */
  dbs: Record<ServiceName, TestDatabase['db']>;
  processes(): Record<ServiceName, TestProcess>;
  /** Everything the service printed (stdout and stderr), across restarts. */
  output(service: ServiceName): string;
  isRunning(service: ServiceName): boolean;
  /** Kills the service (SIGKILL by default: no cleanup, no flush) and waits for it to exit. */
  kill(service: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts the service again on the same port, database and topics (stopping it first with `signal`,
   * SIGKILL by default, if it still runs) and waits until it is ready. `env` adds to (or overrides)
   * its environment from now on. After a SIGKILL this takes as long as the broker needs to drop the
   * dead consumer from its group (kafkajs' 30 s session timeout): the new consumer's join waits for it.
   */
  restart(service: ServiceName, options?: { env?: Record<string, string>; signal?: NodeJS.Signals }): Promise<void>;
  /** Kills every process, drops the databases, deletes the topics, consumer groups and Redis keys. Idempotent. */
  stop(): Promise<void>;
}

/** Processes started by any harness in this worker, so that nothing outlives it even if a test hook times out. */
const liveProcesses = new Set<TestProcess>();
let exitHookInstalled = false;
function track(child: TestProcess): TestProcess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => liveProcesses.forEach((p) => p.child.kill('SIGKILL')));
  }
  liveProcesses.add(child);
  void child.exited.then(() => liveProcesses.delete(child));
  return child;
}

/** A port that was free a moment ago (bound to :0, read, closed). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts the five services as real processes (`apps/<service>/src/main.ts` under tsx) and waits until each is ready. */
export async function startSystem(options: SystemOptions = {}): Promise<RunningSystem> {
  const servers = testServers();
  const brokers = options.kafkaBrokers ?? servers.KAFKA_BROKERS;
  const label = options.label ?? 'e2e';
  const topicPrefix = `${uniqueName(label)}.`;
  const queueKeyPrefix = uniqueName(`${label}_wr`);
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const databases = new Map<ServiceName, TestDatabase>();
  const running = new Map<ServiceName, TestProcess>();
  const outputs = new Map<ServiceName, string[]>();
  const extraEnv = new Map<ServiceName, Record<string, string>>();
  let topicsCreated = false;
  let stopped = false;

  const ports = {} as Record<ServiceName, number>;
  const taken = new Set<number>();
  for (const name of SERVICE_NAMES) {
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    ports[name] = port;
  }
  let gatewayOpsPort = await freePort();
  while (taken.has(gatewayOpsPort)) gatewayOpsPort = await freePort();
  const urlOf = (name: ServiceName) => `http://${HOST}:${ports[name]}`;
  const opsUrlOf = (name: ServiceName) => (name === 'queue-gateway' ? `http://${HOST}:${gatewayOpsPort}` : urlOf(name));

  function envFor(name: ServiceName): Record<string, string> {
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      HOST,
      POSTGRES_URL: servers.DATABASE_URL,
      DATABASE_URL: databases.get(name)!.url,
      REDIS_URL: servers.REDIS_URL,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: topicPrefix,
      KAFKA_CLIENT_ID: `${topicPrefix}${name}`,
      // Spans leave every 200 ms instead of every 5 s, so a test sees a trace soon after the request.
      OTEL_BSP_SCHEDULE_DELAY: '200',
      ADMIN_API_KEY: E2E_ADMIN_KEY,
      // Every service learns every port: the gateway needs the upstreams, each service its own.
      ...Object.fromEntries(SERVICE_NAMES.map((n) => [SERVICES[n].portVar, String(ports[n])])),
      [GATEWAY_OPS.portVar]: String(gatewayOpsPort),
      QUEUE_KEY_PREFIX: queueKeyPrefix,
      // Every fan of these tests signs up from 127.0.0.1; the gateway's own tests try that limit.
      RATE_LIMIT_SIGNUPS: '100000',
      ADMISSION_TICK_MS: '200',
      CATALOG_URL: urlOf('concert-catalog'),
      RESERVATION_URL: urlOf('reservation'),
      WALLET_URL: urlOf('wallet'),
      PAYMENT_URL: urlOf('payment'),
    };
    // A test that reads traces records every one (the default samples a small share of new traces).
    if (options.otlpEndpoint) Object.assign(env, { OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint, TRACE_SAMPLE_RATIO: '1' });
    return { ...env, ...options.commonEnv, ...options.env?.[name], ...extraEnv.get(name) };
  }

  function spawnService(name: ServiceName): TestProcess {
    const child = track(runTsProcess(path.join('apps', name, 'src', 'main.ts'), envFor(name)));
    const log = outputs.get(name) ?? [];
    outputs.set(name, log);
    const index = log.push('') - 1;
    const collect = (chunk: Buffer) => (log[index] += chunk.toString());
    child.child.stdout?.on('data', collect);
    child.child.stderr?.on('data', collect);
    running.set(name, child);
    return child;
  }

  const output = (name: ServiceName) => (outputs.get(name) ?? []).join(`\n--- ${name} restarted ---\n`);

  async function waitReady(name: ServiceName): Promise<void> {
    const child = running.get(name)!;
    const deadline = Date.now() + readyTimeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (child.child.exitCode !== null || child.child.signalCode !== null) {
        throw new Error(`${name} exited (${child.child.exitCode ?? child.child.signalCode}) before it was ready; output:\n${output(name).slice(-4000)}`);
      }
      try {
        const res = await fetch(`${opsUrlOf(name)}/health/ready`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) return;
        last = `${res.status} ${await res.text()}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${name} not ready within ${readyTimeoutMs} ms (last: ${last}); output:\n${output(name).slice(-4000)}`);
  }

  async function kill(name: ServiceName, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = running.get(name);
    if (child) await child.kill(signal);
  }

  const isRunning = (name: ServiceName) => {
    const child = running.get(name);
    return !!child && child.child.exitCode === null && child.child.signalCode === null;
  };

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await Promise.all([...running.values()].map((child) => child.kill('SIGKILL')));
    const failures: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (error) {
        failures.push(`${what}: ${(error as Error).message}`);
      }
    };
    await Promise.all([...databases.entries()].map(([name, database]) => attempt(`drop database of ${name}`, () => database.drop())));
    if (topicsCreated) {
      await attempt('delete topics', () => deleteTestTopics(topicPrefix, brokers));
      // Best effort: a SIGKILLed member keeps its group non-empty until its session times out.
      await deleteGroups(SERVICE_NAMES.map((n) => `${topicPrefix}${n}`), brokers).catch(() => undefined);
    }
    await attempt('delete Redis keys', () => deleteRedisKeys(servers.REDIS_URL, `{${queueKeyPrefix}}*`));
    if (failures.length) throw new Error(`system cleanup incomplete:\n  ${failures.join('\n  ')}`);
  }

  try {
    await Promise.all(
      SERVICE_NAMES.map(async (name) => {
        const database = await createTestDatabase(`${label}_${SERVICES[name].database}`, 3);
        databases.set(name, database);
        await migrateLatest(database.db, path.join(REPO_ROOT, 'apps', name, 'migrations'));
      }),
    );
    await createTestTopics(topicPrefix, brokers);
    topicsCreated = true;
    SERVICE_NAMES.forEach(spawnService);
    await Promise.all(SERVICE_NAMES.map(waitReady));
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }

  const services = Object.fromEntries(
    SERVICE_NAMES.map((name) => [
      name,
      {
        name,
        port: ports[name],
        url: urlOf(name),
        database: databases.get(name)!,
        get process() {
          return running.get(name)!;
        },
      },
    ]),
  ) as Record<ServiceName, SystemService>;

  return {
    gatewayUrl: urlOf('queue-gateway'),
    api: `${urlOf('queue-gateway')}/api/v1`,
    adminKey: E2E_ADMIN_KEY,
    topicPrefix,
    queueKeyPrefix,
    services,
    urls: Object.fromEntries(SERVICE_NAMES.map((n) => [n, urlOf(n)])) as Record<ServiceName, string>,
    opsUrls: Object.fromEntries(SERVICE_NAMES.map((n) => [n, opsUrlOf(n)])) as Record<ServiceName, string>,
    dbs: Object.fromEntries(SERVICE_NAMES.map((n) => [n, databases.get(n)!.db])) as Record<ServiceName, TestDatabase['db']>,
    processes: () => Object.fromEntries(SERVICE_NAMES.map((n) => [n, running.get(n)!])) as Record<ServiceName, TestProcess>,
    output,
    isRunning,
    kill,
    async restart(name, restartOptions = {}) {
      if (stopped) throw new Error('the system was stopped');
      await kill(name, restartOptions.signal ?? 'SIGKILL');
      if (restartOptions.env) extraEnv.set(name, { ...extraEnv.get(name), ...restartOptions.env });
      spawnService(name);
      await waitReady(name);
    },
    stop,
  };
}

async function deleteGroups(groups: string[], brokers: string[]): Promise<void> {
  const admin = testKafka(undefined, brokers).admin();
  await admin.connect();
  try {
    const existing = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
    const ours = groups.filter((g) => existing.has(g));
    if (ours.length) await admin.deleteGroups(ours);
  } finally {
    await admin.disconnect();
  }
}

async function deleteRedisKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
