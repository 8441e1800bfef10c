import { z } from 'zod';
import { SERVICES, type ServiceName } from './services';

/** Raised at start when the environment does not satisfy a service's schema. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

// 0 = any free port (tests).
const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Settings every process shares: where the servers are, logging and tracing. */
export const commonSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** PostgreSQL server (any database on it); a service uses DATABASE_URL, or this server with its own database name. */
  POSTGRES_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/postgres'),
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[^:]+:\d+$/, 'host:port')).min(1)),
  KAFKA_CLIENT_ID: z.string().optional(),
  /**
   * Prepended to every topic and consumer group name, so one broker can carry several isolated
   * copies of the system (the end-to-end tests run theirs beside a developer's `npm start`).
   */
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/, 'letters, digits, . _ -').default(''),
  OTEL_SDK_DISABLED: bool.default('false'),
  /**
   * Share of new traces recorded (children follow their parent's decision, so a trace is whole or
   * absent). 1 % by default: at thousands of requests a second that is still tens of whole traces a
   * second, for a few percent of throughput (every request recorded costs the gateway about half);
   * 1 records everything.
   */
  TRACE_SAMPLE_RATIO: z.coerce.number().min(0).max(1).default(0.01),
  /** Where spans go (Jaeger's OTLP/HTTP receiver); unset = spans are created but not exported. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  /** How often Idempotency-Key answers past their retention are deleted (services that take keys). */
  IDEMPOTENCY_PURGE_INTERVAL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(3_600_000),
  /** The relay's fallback poll: commits in its own process, retries and backlogs wake it without one. */
  OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(5_000),
  /**
   * Where the server's autovacuum is off, how often each service vacuums and analyzes the tables of
   * its database that autovacuum would (0 = never; where autovacuum is on, a round does nothing).
   */
  VACUUM_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  /** How often each relay vacuums its outbox table (0 = leave it to autovacuum). */
  OUTBOX_VACUUM_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  OUTBOX_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(500),
  /**
   * An outbox row whose publish failed this many times for a reason of its own (unknown topic, a
   * message the broker refuses) moves to outbox_dead_letters and its key goes on; with the relay's
   * backoff (capped at 30 s) 20 attempts take about five minutes. A broker outage never counts.
   */
  OUTBOX_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1_000).default(20),
  /** Published outbox rows are kept this long (for inspection), then purged. */
  OUTBOX_RETENTION_MS: z.coerce.number().int().min(0).max(30 * 86_400_000).default(3_600_000),
  /**
   * How long the idempotent consumers keep a message id to recognise a redelivery. Must exceed the
   * topics' log retention (4 h on the local and compose brokers) and a crashed writer's time to re-send.
   */
  PROCESSED_MESSAGES_RETENTION_MS: z.coerce.number().int().min(60_000).max(90 * 86_400_000).default(86_400_000),
  /** How often the outbox and processed-message purges run; each round deletes everything past retention. */
  MESSAGING_PURGE_INTERVAL_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /** Rows per delete statement of those purges (a round goes on while statements come back full). */
  MESSAGING_PURGE_BATCH_SIZE: z.coerce.number().int().min(100).max(100_000).default(5_000),
  /** A consumer silent this long (crashed) loses its partitions to the others; the broker's minimum is 6 s. */
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(10_000),
  /**
   * How long the broker holds a consumer's fetch that finds nothing new (a message arriving meanwhile
   * is returned at once). Sets what an idle consumer costs, and how soon it hears of a rebalance.
   */
  KAFKA_FETCH_MAX_WAIT_MS: z.coerce.number().int().min(10).max(5_000).default(1_000),
  CONSUMER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** Shared by the gateway (signs forwarded calls) and the services (accept only signed calls). */
  INTERNAL_AUTH_SECRET: z.string().min(32, 'INTERNAL_AUTH_SECRET must be at least 32 characters').optional(),
});

/** Development values for secrets, used only outside production (where an unset secret stops the process). */
export const DEV_SECRETS = {
  ADMIN_API_KEY: 'dev-admin-key',
  SESSION_JWT_SECRET: 'dev-only-session-secret-change-me-in-production',
  QUEUE_JWT_SECRET: 'dev-only-queue-secret-change-me-in-production!!',
  INTERNAL_AUTH_SECRET: 'dev-only-internal-secret-change-me-in-production',
} as const;

/**
 * Values written in this repository at one time or another (the defaults above and the ones
 * docker-compose.yml used to fill in): public, so never a secret in production.
 */
const KNOWN_DEVELOPMENT_VALUES: ReadonlySet<string> = new Set([
  ...Object.values(DEV_SECRETS),
  'dev-only-internal-auth-secret-do-not-use-in-prod',
  'dev-only-session-jwt-secret-do-not-use-in-prod',
  'dev-only-queue-jwt-secret-do-not-use-in-prod',
]);

/** Shortest secret accepted in production: 32 bytes, the size of an HS256 key. */
export const MIN_PRODUCTION_SECRET_BYTES = 32;

/** What is wrong with a production secret, or undefined when it will do. */
function productionSecretProblem(name: string, value: string | undefined): string | undefined {
  if (!value) return `${name}: required in production`;
  if (KNOWN_DEVELOPMENT_VALUES.has(value)) return `${name}: is a development value written in the repository; set a secret of your own`;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes < MIN_PRODUCTION_SECRET_BYTES) return `${name}: must be at least ${MIN_PRODUCTION_SECRET_BYTES} bytes in production (has ${bytes})`;
  return undefined;
}

/**
 * The secret's configured value, or its development value outside production. In production every
 * named secret must be set, not be a value written in the repository, and have at least 32 bytes;
 * otherwise a ConfigError naming each bad setting stops the process.
 */
export function resolveSecrets<K extends keyof typeof DEV_SECRETS>(
  config: { NODE_ENV: string } & Partial<Record<K, string | undefined>>,
  names: readonly K[],
): Record<K, string> {
  if (config.NODE_ENV === 'production') {
    const problems = names.map((name) => productionSecretProblem(name, config[name])).filter((p): p is string => p !== undefined);
    if (problems.length) throw new ConfigError(problems);
  }
  return Object.fromEntries(names.map((name) => [name, config[name] || DEV_SECRETS[name]])) as unknown as Record<K, string>;
}

export type CommonConfig = z.infer<typeof commonSchema>;

/**
 * Parses and validates the environment once, at start. Every problem is reported at once,
 * and nothing else in the code base reads process.env.
 */
export function loadConfig<S extends z.ZodTypeAny>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return result.data;
}

/** Replaces the database name of a PostgreSQL URL. */
export function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A secret `resolveSecrets` knows (its development value and its production checks). */
export type SecretName = keyof typeof DEV_SECRETS;

/**
 * Loads a service's configuration: the common settings, the service's own (`extra`), its port from
 * its port variable (e.g. RESERVATION_PORT), its database URL (DATABASE_URL, or POSTGRES_URL with
 * the service's database name) and its secrets (INTERNAL_AUTH_SECRET and `secrets`, checked together
 * so that every bad one is named at once).
 */
export function loadServiceConfig<E extends z.ZodRawShape, K extends SecretName = 'INTERNAL_AUTH_SECRET'>(
  service: ServiceName,
  extra: E,
  env: NodeJS.ProcessEnv = process.env,
  { secrets = [] }: { secrets?: readonly K[] } = {},
) {
  const spec = SERVICES[service];
  const schema = commonSchema.extend(extra).extend({ PORT: port.default(spec.port) });
  const raw = loadConfig(schema, { ...env, PORT: env[spec.portVar] });
  const common = raw as unknown as CommonConfig & { PORT: number };
  const names: (K | 'INTERNAL_AUTH_SECRET')[] = ['INTERNAL_AUTH_SECRET', ...secrets.filter((name) => name !== 'INTERNAL_AUTH_SECRET')];
  return {
    ...raw,
    ...common,
    ...resolveSecrets(raw as unknown as { NODE_ENV: string } & Partial<Record<K | 'INTERNAL_AUTH_SECRET', string>>, names),
    service,
    port: common.PORT,
    databaseUrl: common.DATABASE_URL ?? withDatabase(common.POSTGRES_URL, spec.database),
  };
}

/** This process's environment with `overrides` on top: what a child process (a service under test) inherits. */
export function childEnvironment(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}
