import { GATEWAY_OPS, loadServiceConfig } from '@ticketing/config';
import type { ServerLimits } from '@ticketing/http';
import { z } from 'zod';

const seconds = (fallback: number, max = 86_400) => z.coerce.number().int().min(1).max(max).default(fallback);
const secret = (name: string) =>
  z
    .string()
    .min(32, `${name} must be at least 32 characters`)
    .optional();

/** The gateway's own settings (see README's configuration table). */
export const gatewaySettings = {
  ADMIN_API_KEY: z.string().min(8).optional(),
  SESSION_JWT_SECRET: secret('SESSION_JWT_SECRET'),
  QUEUE_JWT_SECRET: secret('QUEUE_JWT_SECRET'),
  SESSION_TTL_SECONDS: seconds(12 * 3600),
  WAITING_LEASE_SECONDS: seconds(60),
  ADMISSION_TICK_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  /** Rooms' keys are `{<prefix>:<concertId>}:…`, the index of rooms `<prefix>:sales`. */
  QUEUE_KEY_PREFIX: z
    .string()
    .regex(/^[^{}\s:]{1,64}$/, 'QUEUE_KEY_PREFIX must be 1..64 characters without braces, colons or spaces')
    .default('wr'),
  /** `host:port,host:port,...` of a Redis Cluster's masters: the waiting rooms (and limits) go there instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: z
    .string()
    .optional()
    .transform((v) => (v ? v.split(',').map((n) => n.trim()).filter(Boolean) : undefined))
    .refine((nodes) => !nodes || nodes.every((n) => /^[^\s:]+:\d{1,5}$/.test(n)), 'REDIS_CLUSTER_NODES must be host:port,host:port,...'),
  CATALOG_URL: z.string().url().default('http://127.0.0.1:3001'),
  RESERVATION_URL: z.string().url().default('http://127.0.0.1:3002'),
  WALLET_URL: z.string().url().default('http://127.0.0.1:3003'),
  PAYMENT_URL: z.string().url().default('http://127.0.0.1:3004'),
  /** A forwarded call's whole time, from the gateway's side: 504 after it. */
  UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** The request line and headers must arrive within this (408 after). */
  GATEWAY_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(500).max(300_000).default(10_000),
  /** The whole request, headers and body, must arrive within this (408 after); answers may take longer. */
  GATEWAY_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(500).max(300_000).default(15_000),
  /** Largest request body (413 beyond); forwarded bodies are read whole before a service is called. */
  GATEWAY_BODY_LIMIT_BYTES: z.coerce.number().int().min(1_024).max(10 * 1024 * 1024).default(16 * 1024),
  /** Open sockets per client address on the public port (0 = no cap). */
  GATEWAY_MAX_SOCKETS_PER_CLIENT: z.coerce.number().int().min(0).max(100_000).default(128),
  /** Addresses the socket cap skips: a proxy or load balancer in front (which hides client addresses), local load generators. */
  GATEWAY_UNCAPPED_CLIENTS: z
    .string()
    .default('127.0.0.1,::1')
    .transform((s) => s.split(',').map((a) => a.trim()).filter(Boolean)),
  /** Readiness, health details and metrics are served here only, never on the public port (0 = any free port). */
  [GATEWAY_OPS.portVar]: z.coerce.number().int().min(0).max(65535).default(GATEWAY_OPS.port),
  /** Where the operations port listens: loopback unless a scraper elsewhere needs it (containers). */
  GATEWAY_OPS_HOST: z.string().min(1).default('127.0.0.1'),
};

/**
 * Loads the gateway configuration. Local runs get fixed development secrets (printed by `npm start`);
 * in production a secret that is unset, shorter than 32 bytes or a development value stops the service at start.
 */
export function loadGatewayConfig(env?: NodeJS.ProcessEnv) {
  return loadServiceConfig('queue-gateway', gatewaySettings, env, { secrets: ['ADMIN_API_KEY', 'SESSION_JWT_SECRET', 'QUEUE_JWT_SECRET'] });
}

/** What one client may hold of the gateway's public port (see `startServer`). */
export function publicServerLimits(config: Pick<GatewayConfig, 'GATEWAY_HEADERS_TIMEOUT_MS' | 'GATEWAY_REQUEST_TIMEOUT_MS' | 'GATEWAY_MAX_SOCKETS_PER_CLIENT' | 'GATEWAY_UNCAPPED_CLIENTS'>): ServerLimits {
  return {
    // Node refuses a headers timeout longer than the request's; the request's bounds both then.
    headersTimeoutMs: Math.min(config.GATEWAY_HEADERS_TIMEOUT_MS, config.GATEWAY_REQUEST_TIMEOUT_MS),
    requestTimeoutMs: config.GATEWAY_REQUEST_TIMEOUT_MS,
    maxSocketsPerClient: config.GATEWAY_MAX_SOCKETS_PER_CLIENT,
    uncappedClients: config.GATEWAY_UNCAPPED_CLIENTS,
  };
}

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
