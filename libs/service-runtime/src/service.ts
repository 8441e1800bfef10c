import type { CommonConfig } from '@ticketing/config';
import { createDatabase, createVacuumJob, pingDatabase, type Database } from '@ticketing/db';
import { onShutdownSignal, reportOnly, startServer, type ReadinessCheck, type RunningServer, type ServerLimits } from '@ticketing/http';
import {
  createEventConsumer,
  createKafka,
  createOutboxRelay,
  createOutboxWriter,
  kafkaReachability,
  messagingSettings,
  type EventConsumer,
  type EventConsumerOptions,
  type EventHandlers,
  type OutboxRelay,
  type OutboxRelayOptions,
  type OutboxWriter,
} from '@ticketing/messaging';
import { createLogger, createMetricsRegistry, shutdownTelemetry, type Logger, type Registry } from '@ticketing/telemetry';
import type { Express } from 'express';
import type { Kafka } from 'kafkajs';
import { combineHandlers } from './combine-handlers';

/** What the runtime needs from a service's configuration (what `loadServiceConfig` returns). */
export type ServiceSettings = CommonConfig & { service: string; port: number; databaseUrl: string };

/** A client the service needs besides its database (the gateway's Redis): connected first, closed after the broker check. */
export interface Connection<T = unknown> {
  client: T;
  connect(): Promise<unknown>;
  /** Gates readiness: the service cannot answer without it. */
  check(): Promise<unknown>;
  close(): Promise<unknown> | void;
}

/** Background work (a periodic job, a listener): started before the consumer, stopped after it. `stop` must be safe when never started. */
export interface Job {
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

/** What every service's own part of the wiring gives the runtime. */
export interface ServiceParts {
  /** The HTTP app (built with `createHttpApp`, readiness from the context), not listening. */
  http: { app: Express; ops: Express; markShuttingDown(): void };
  /** Limits of the public HTTP server (the gateway bounds slow clients). */
  limits?: ServerLimits;
  /** Serve `http.ops` (readiness, details, metrics) on a port of its own (the gateway). */
  ops?: { port: number; host: string };
  /** Every feature's handlers: combined, so two features taking one event type both run. */
  consumers?: EventHandlers[];
  /** The consumer group starts at the beginning of each topic when it has no offsets yet. */
  fromBeginning?: boolean;
  /** Named jobs, started in this order (after the runtime's vacuum) and stopped in reverse. */
  jobs?: Record<string, Job>;
  /** The first steps of shutdown after readiness turns 503, before the HTTP server closes (the gateway ends its event streams). */
  beforeClose?: (() => void | Promise<void>)[];
  /** Extra fields of the "listening" log line. */
  describe?: Record<string, unknown>;
}

export interface BaseContext<C> {
  config: C;
  logger: Logger;
}

export interface ServiceContext<C, K> extends BaseContext<C> {
  metrics: Registry;
  db: Database;
  kafka: Kafka;
  /** Writes events in the caller's transaction; the relay publishes them after commit. */
  outbox: OutboxWriter;
  /** For the HTTP app: the database and every connection gate readiness; the broker is report-only. */
  readiness: Record<string, ReadinessCheck>;
  connections: K;
}

export interface ServiceDefinition<C extends ServiceSettings, K extends Record<string, Connection>, P extends ServiceParts> {
  name: string;
  /** Parses and validates the environment (once, at start). */
  /** `env` undefined = this process's environment (libs/config reads it). */
  settings(env?: NodeJS.ProcessEnv): C;
  /** Whether the service writes events (default true): without, no relay runs and `outbox` throws. */
  outbox?: boolean;
  connections?(base: BaseContext<C>): K;
  /** The service's own wiring: its HTTP app, consumers and jobs over the runtime's context. */
  wire(context: ServiceContext<C, K>): P;
}

export interface StartOptions {
  /** Default: this process's environment. Tests pass their database URL, topic prefix and ports here. */
  env?: NodeJS.ProcessEnv;
  /** Default: a logger at LOG_LEVEL under the service's name. */
  logger?: Logger;
  /** Run the relay and the consumer (default true); without, events stay in the outbox and tests apply events through `handlers`. */
  messaging?: boolean;
  /** Start the jobs (default true); without, they are built for the caller to start (and still stopped at shutdown). */
  jobs?: boolean;
  /** Test settings of the consumer and relay that are no configuration of their own. */
  consumer?: Partial<Pick<EventConsumerOptions, 'retryBaseMs' | 'onProcessed' | 'onDeadLettered' | 'groupId'>>;
  relay?: Partial<Pick<OutboxRelayOptions, 'retryBaseMs'>>;
  /** Flush and stop the tracing SDK as the last step of shutdown (a process of its own). */
  telemetry?: boolean;
  /** Told each step as it is taken (`start:relay`, `stop:http`, ...). */
  onStep?: (step: string) => void;
}

export interface RunningService<C, K, P> {
  name: string;
  config: C;
  logger: Logger;
  metrics: Registry;
  db: Database;
  kafka: Kafka;
  outbox: OutboxWriter;
  connections: K;
  parts: P;
  /** The consumer's handlers, one per event type (combined from every feature). */
  handlers: EventHandlers;
  /** Consumer group (and the name processed message ids are recorded under). */
  groupId: string;
  port: number;
  url: string;
  opsPort?: number;
  /** Shuts down in the one order every service uses (see `stopService`'s steps); safe to call twice. */
  stop(): Promise<void>;
}

export type Service<C extends ServiceSettings, K extends Record<string, Connection>, P extends ServiceParts> = ServiceDefinition<C, K, P> & {
  start(options?: StartOptions): Promise<RunningService<C, K, P>>;
};

/** A service described once: its settings, connections and wiring; `start` runs it in this process. */
export function defineService<C extends ServiceSettings, P extends ServiceParts, K extends Record<string, Connection> = Record<string, never>>(
  definition: ServiceDefinition<C, K, P>,
): Service<C, K, P> {
  return { ...definition, start: (options) => startService(definition, options) };
}

/**
 * Starts a service: connections → relay → jobs (vacuum first, then the service's, in order) →
 * consumer → operations server → HTTP server. Shutdown goes the other way, always in this order:
 * readiness 503 → the service's first steps → HTTP server → consumer → jobs in reverse → relay →
 * broker check → connections → database → operations server (probes see "shutting-down" until
 * here) → telemetry. A failed start undoes what had started and rethrows.
 */
export async function startService<C extends ServiceSettings, K extends Record<string, Connection>, P extends ServiceParts>(
  definition: ServiceDefinition<C, K, P>,
  options: StartOptions = {},
): Promise<RunningService<C, K, P>> {
  const step = (name: string) => options.onStep?.(name);
  const config = definition.settings(options.env);
  const name = definition.name;
  const logger = options.logger ?? createLogger(name, config.LOG_LEVEL);
  const metrics = createMetricsRegistry(name);
  const db = createDatabase({ url: config.databaseUrl, poolMax: config.DATABASE_POOL_MAX, applicationName: name });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID ?? name, logger });
  const kafkaCheck = kafkaReachability(kafka, { metrics });
  const messaging = messagingSettings(config, name);
  const withMessaging = options.messaging ?? true;
  const publishes = definition.outbox ?? true;
  const relay: OutboxRelay | undefined =
    publishes && withMessaging ? createOutboxRelay({ db, kafka, logger, metrics, ...messaging.relay, ...options.relay }) : undefined;
  const writer = createOutboxWriter({ topicPrefix: messaging.topicPrefix, onCommitted: () => relay?.wake() });
  const outbox: OutboxWriter = publishes
    ? writer
    : {
        append: () => {
          throw new Error(`${name} is defined without an outbox (outbox: false)`);
        },
      };
  const connections = (definition.connections?.({ config, logger }) ?? {}) as K;
  const readiness: Record<string, ReadinessCheck> = { postgres: () => pingDatabase(db) };
  for (const [key, connection] of Object.entries(connections)) readiness[key] = () => connection.check();
  readiness.kafka = reportOnly(kafkaCheck.check);

  const parts = definition.wire({ config, logger, metrics, db, kafka, outbox, readiness, connections });
  const handlers = combineHandlers(...(parts.consumers ?? []));
  const groupId = options.consumer?.groupId ?? messaging.consumer.groupId;
  const consumer: EventConsumer | undefined =
    withMessaging && Object.keys(handlers).length > 0
      ? createEventConsumer({ kafka, db, logger, ...messaging.consumer, ...options.consumer, groupId, fromBeginning: parts.fromBeginning, handlers })
      : undefined;
  const jobs: [string, Job][] = [['vacuum', createVacuumJob({ db, logger, intervalMs: config.VACUUM_INTERVAL_MS })], ...Object.entries(parts.jobs ?? {})];

  const opened = new Set<string>();
  let server: RunningServer | undefined;
  let opsServer: RunningServer | undefined;
  let stopping: Promise<void> | undefined;

  async function shutdown(): Promise<void> {
    const failures: unknown[] = [];
    const run = async (label: string, action: () => unknown) => {
      step(`stop:${label}`);
      try {
        await action();
      } catch (error) {
        failures.push(error);
        logger.error({ err: error, step: label }, 'shutdown step failed; going on with the next');
      }
    };
    await run('mark-shutting-down', () => parts.http.markShuttingDown());
    for (const [i, first] of (parts.beforeClose ?? []).entries()) await run(`before-close-${i + 1}`, first);
    if (server) await run('http', () => server!.close(config.SHUTDOWN_TIMEOUT_MS / 2));
    if (consumer && opened.has('consumer')) await run('consumer', () => consumer.stop());
    for (const [jobName, job] of [...jobs].reverse()) await run(`job:${jobName}`, () => job.stop());
    if (relay && opened.has('relay')) await run('relay', () => relay.stop());
    await run('kafka-check', () => kafkaCheck.close());
    for (const [key, connection] of Object.entries(connections).reverse()) {
      if (opened.has(`connection:${key}`)) await run(`connection:${key}`, () => connection.close());
    }
    await run('database', () => db.destroy());
    if (opsServer) await run('ops', () => opsServer!.close(1_000));
    if (options.telemetry) await run('telemetry', () => shutdownTelemetry());
    if (failures.length) throw failures[0];
  }

  const stop = () => (stopping ??= shutdown());

  try {
    for (const [key, connection] of Object.entries(connections)) {
      step(`start:connection:${key}`);
      opened.add(`connection:${key}`);
      await connection.connect();
    }
    if (relay) {
      step('start:relay');
      opened.add('relay');
      await relay.start();
    }
    if (options.jobs ?? true) {
      for (const [jobName, job] of jobs) {
        step(`start:job:${jobName}`);
        await job.start();
      }
    }
    if (consumer) {
      step('start:consumer');
      opened.add('consumer');
      await consumer.start();
    }
    if (parts.ops) {
      step('start:ops');
      opsServer = await startServer(parts.http.ops, parts.ops);
    }
    step('start:http');
    server = await startServer(parts.http.app, { port: config.port, host: config.HOST, limits: parts.limits });
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }

  logger.info(
    { port: server.port, host: config.HOST, ...(opsServer ? { opsPort: opsServer.port, opsHost: parts.ops?.host } : {}), ...parts.describe },
    `${name} listening`,
  );
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
  return {
    name,
    config,
    logger,
    metrics,
    db,
    kafka,
    outbox,
    connections,
    parts,
    handlers,
    groupId,
    port: server.port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`,
    opsPort: opsServer?.port,
    stop,
  };
}

/** A service's main.ts: starts it from the environment and shuts it down on SIGTERM/SIGINT; a failed start exits 1 with the reason. */
export function runService<C extends ServiceSettings, K extends Record<string, Connection>, P extends ServiceParts>(service: ServiceDefinition<C, K, P>): void {
  startService(service, { telemetry: true })
    .then((running) => onShutdownSignal(running.logger, running.stop, running.config.SHUTDOWN_TIMEOUT_MS))
    .catch((error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    });
}
