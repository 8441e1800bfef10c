import { commonSchema, GATEWAY_OPS, loadConfig, resolveSecrets, SERVICES, SERVICE_NAMES, type ServiceName } from '@ticketing/config';
import { z } from 'zod';
import { gatewaySettings } from '../../apps/queue-gateway/src/config';

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(1).max(65535).optional();

/**
 * The settings every part of the benchmark shares, parsed once: where the stack is, the secrets it
 * signs with, the waiting room's cap (the same variable and default as the gateway's), and how the
 * runner measures ceilings and CPU. Scenarios add only their own settings.
 */
const schema = commonSchema.extend({
  GATEWAY_URL: z.string().url().default(`http://127.0.0.1:${SERVICES['queue-gateway'].port}`),
  SESSION_JWT_SECRET: z.string().optional(),
  ADMIN_API_KEY: z.string().optional(),
  QUEUE_KEY_PREFIX: gatewaySettings.QUEUE_KEY_PREFIX,
  /** The stack's cap on active fans; scenarios that need more admitted fans run them in waves below it. */
  MAX_ACTIVE_USERS: gatewaySettings.MAX_ACTIVE_USERS,
  /** Fans admitted per wave (default: 80% of MAX_ACTIVE_USERS, leaving room for anyone else in the room). */
  BENCH_WAVE_FANS: z.coerce.number().int().min(1).optional(),
  /** Connections of the HTTP load (scenarios and ceilings alike, so they compare). */
  BENCH_CONNECTIONS: z.coerce.number().int().min(1).default(64),
  BENCH_CEILINGS: flag.default('true'),
  BENCH_CEILING_S: z.coerce.number().min(1).default(10),
  BENCH_PGBENCH: z.string().min(1).default('pgbench'),
  /** pgbench clients: the connections a service writes seats with (its pool). */
  BENCH_PGBENCH_CLIENTS: z.coerce.number().int().min(1).optional(),
  /** A scenario still running after this long becomes a failed row, and the run goes on. */
  BENCH_SCENARIO_TIMEOUT_S: z.coerce.number().min(10).default(900),
  GATEWAY_PORT: port,
  CATALOG_PORT: port,
  RESERVATION_PORT: port,
  WALLET_PORT: port,
  PAYMENT_PORT: port,
  GATEWAY_OPS_PORT: port,
});

const parsed = loadConfig(schema);

export const benchConfig = {
  ...parsed,
  ...resolveSecrets(parsed, ['SESSION_JWT_SECRET', 'ADMIN_API_KEY', 'INTERNAL_AUTH_SECRET']),
  api: `${parsed.GATEWAY_URL}/api/v1`,
  waveFans: parsed.BENCH_WAVE_FANS ?? Math.max(1, Math.floor(parsed.MAX_ACTIVE_USERS * 0.8)),
  pgbenchClients: parsed.BENCH_PGBENCH_CLIENTS ?? parsed.DATABASE_POOL_MAX,
  /** Each service's Prometheus endpoint (its port variable or its default port; the gateway's operations port). */
  metricsUrls: Object.fromEntries(
    SERVICE_NAMES.map((name) => [
      name,
      name === 'queue-gateway'
        ? `http://127.0.0.1:${parsed.GATEWAY_OPS_PORT ?? GATEWAY_OPS.port}/metrics`
        : `http://127.0.0.1:${parsed[SERVICES[name].portVar] ?? SERVICES[name].port}/metrics`,
    ]),
  ) as Record<ServiceName, string>,
};
