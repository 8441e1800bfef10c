import { commonSchema, GATEWAY_OPS, loadConfig, resolveSecrets, SERVICES, SERVICE_NAMES, type ServiceName } from '@ticketing/config';
import { SALE_LIMITS } from '@ticketing/contracts';
import { z } from 'zod';
import { gatewaySettings } from '../../apps/queue-gateway/src/config';

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(1).max(65535).optional();

/**
 * The settings every part of the benchmark shares, parsed once: where the stack is, the secrets it
 * signs with, the sales the bench configures on its concerts, and how the runner measures ceilings
 * and CPU. Scenarios add only their own settings.
 */
const schema = commonSchema.extend({
  GATEWAY_URL: z.string().url().default(`http://127.0.0.1:${SERVICES['queue-gateway'].port}`),
  SESSION_JWT_SECRET: z.string().optional(),
  ADMIN_API_KEY: z.string().optional(),
  QUEUE_KEY_PREFIX: gatewaySettings.QUEUE_KEY_PREFIX,
  /**
   * maxActive of the sales the bench configures (each scenario's concert has its own room): scenarios
   * that need more admitted fans run them in waves below it. 500, what the gateway's one room used to admit.
   */
  BENCH_MAX_ACTIVE: z.coerce.number().int().min(SALE_LIMITS.maxActive.min).max(SALE_LIMITS.maxActive.max).default(500),
  /** activeMinutes of those sales: how long an admitted fan may shop (5, the gateway's old ACTIVE_TTL_SECONDS of 300). */
  BENCH_ACTIVE_MINUTES: z.coerce.number().int().min(SALE_LIMITS.activeMinutes.min).max(SALE_LIMITS.activeMinutes.max).default(5),
  /**
   * Fans admitted per wave (default: 80% of BENCH_MAX_ACTIVE: a paid fan's slot is freed by
   * payment.completed, through Kafka, so the previous wave's slots may still be taken for a moment).
   */
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
  waveFans: parsed.BENCH_WAVE_FANS ?? Math.max(1, Math.floor(parsed.BENCH_MAX_ACTIVE * 0.8)),
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
