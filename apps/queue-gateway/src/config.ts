import { ConfigError, GATEWAY_OPS, loadServiceConfig } from '@ticketing/config';
import type { ServerLimits } from '@ticketing/http';
import { isIP } from 'node:net';
import { z } from 'zod';
import { meetsOwaspArgon2idMinimum } from './users/password-policy';

const seconds = (fallback: number, max = 86_400) => z.coerce.number().int().min(1).max(max).default(fallback);
const secret = (name: string) =>
  z
    .string()
    .min(32, `${name} must be at least 32 characters`)
    .optional();

const count = (fallback: number, max = 10_000_000) => z.coerce.number().int().min(1).max(max).default(fallback);

const TRUST_PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const isAddressOrSubnet = (item: string) => {
  const [address, bits, extra] = item.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
};

/** `false`, a hop count, or a list express understands; `true` (trust every hop, so any client-set header) is refused. */
const trustProxy = z
  .string()
  .trim()
  .transform((value, ctx): false | number | string[] => {
    if (value === '' || value === 'false') return false;
    if (/^\d+$/.test(value)) return Number(value);
    const items = value.split(',').map((item) => item.trim()).filter(Boolean);
    const bad = items.filter((item) => !TRUST_PROXY_NAMES.has(item) && !isAddressOrSubnet(item));
    if (value === 'true' || bad.length > 0 || items.length === 0) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `name the trusted proxies (addresses, subnets, loopback, linklocal, uniquelocal) or a hop count; not ${bad.length ? bad.join(', ') : value}`,
      });
      return z.NEVER;
    }
    return items;
  });

/**
 * The request limits (README: "Rate limits"), shared by every gateway instance through Redis. Each is
 * N requests per window; the defaults let a fan polling at pollAfterMs, a NAT full of fans and the
 * benchmarks (thousands of fans from 127.0.0.1) through, and stop one client hammering.
 */
const rateLimitSettings = {
  /** Redis key prefix of the limits' counters (default: QUEUE_KEY_PREFIX + ':rl'; never hash-tagged, so they spread over a cluster). */
  RATE_LIMIT_KEY_PREFIX: z
    .string()
    .regex(/^[^{}\s]{1,64}$/, 'RATE_LIMIT_KEY_PREFIX must be 1..64 characters without braces (a hash tag would put every counter on one shard) or spaces')
    .optional(),
  /**
   * Every route, per client address: 10,000 a second over all instances. A carrier NAT can put tens of
   * thousands of fans behind one address, each polling every 1–15 s; the benchmarks drive thousands
   * of requests a second from 127.0.0.1 (about 5,000/s at most through one gateway on the 2-core machine).
   */
  RATE_LIMIT_IP_REQUESTS: count(100_000),
  RATE_LIMIT_IP_WINDOW_SECONDS: seconds(10),
  /** Every route, per signed-in fan (a poll a second near the head is 60 a minute). */
  RATE_LIMIT_USER_REQUESTS: count(600),
  RATE_LIMIT_USER_WINDOW_SECONDS: seconds(60),
  /** Entering a waiting room (POST /queue/tokens) and leaving it (DELETE /queue/tokens/me), per fan. */
  RATE_LIMIT_QUEUE_ENTRIES: count(10),
  RATE_LIMIT_QUEUE_ENTRY_WINDOW_SECONDS: seconds(60),
  /** Sign-ups (POST /users, whatever the answer), per client address. */
  RATE_LIMIT_SIGNUPS: count(20),
  RATE_LIMIT_SIGNUP_WINDOW_SECONDS: seconds(3_600),
  /** Failed log-ins per client address, any email (credential stuffing); a success gives its attempt back. */
  RATE_LIMIT_LOGIN_FAILURES_PER_IP: count(100),
  RATE_LIMIT_LOGIN_FAILURES_PER_IP_WINDOW_SECONDS: seconds(900),
  /** Consecutive failed log-ins for one email from one address before a block; a success resets it. */
  RATE_LIMIT_LOGIN_FAILURES: count(5, 1_000),
  /** The first block's length; each further block of the same email and address doubles it, up to the maximum. */
  RATE_LIMIT_LOGIN_BLOCK_SECONDS: seconds(30),
  RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS: seconds(900),
  /** How long failures and blocks of an email and address are remembered without a successful log-in. */
  RATE_LIMIT_LOGIN_FAILURE_MEMORY_SECONDS: seconds(86_400, 30 * 86_400),
};

/** The gateway's own settings (see README's configuration table). */
export const gatewaySettings = {
  ADMIN_API_KEY: z.string().min(8).optional(),
  SESSION_JWT_SECRET: secret('SESSION_JWT_SECRET'),
  QUEUE_JWT_SECRET: secret('QUEUE_JWT_SECRET'),
  /** Session lifetime: long enough that fans log in before a sale opens, not during it (at most 7 days). */
  SESSION_TTL_SECONDS: seconds(12 * 3600, 7 * 86_400),
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
  /** Addresses or subnets the socket cap skips: a proxy or load balancer in front (which hides client addresses), local load generators (every loopback address). */
  GATEWAY_UNCAPPED_CLIENTS: z
    .string()
    .default('127.0.0.0/8,::1')
    .transform((s) => s.split(',').map((a) => a.trim()).filter(Boolean))
    .refine(
      (entries) =>
        entries.every((entry) => {
          const [address, prefix] = entry.split('/');
          const family = isIP(address.replace(/^::ffff:/, ''));
          return family !== 0 && (prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)));
        }),
      'GATEWAY_UNCAPPED_CLIENTS must be IP addresses or subnets (a.b.c.d/n), comma-separated',
    ),
  /** Readiness, health details and metrics are served here only, never on the public port (0 = any free port). */
  [GATEWAY_OPS.portVar]: z.coerce.number().int().min(0).max(65535).default(GATEWAY_OPS.port),
  /** Where the operations port listens: loopback unless a scraper elsewhere needs it (containers). */
  GATEWAY_OPS_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * Which hops in front of the gateway are trusted to say who the client is (express `trust proxy`):
   * unset or `false` = the socket's remote address, whatever X-Forwarded-For says; a hop count; or
   * a comma-separated list of addresses, subnets and express's names (loopback, linklocal, uniquelocal).
   */
  TRUST_PROXY: trustProxy.default('false'),
  ...rateLimitSettings,
  /** argon2id cost of new password hashes; at or above one of OWASP's rows (see password-policy.ts). */
  PASSWORD_HASH_MEMORY_KIB: z.coerce.number().int().min(1_024).max(1_048_576).default(19_456),
  PASSWORD_HASH_ITERATIONS: z.coerce.number().int().min(1).max(20).default(2),
  PASSWORD_HASH_PARALLELISM: z.coerce.number().int().min(1).max(16).default(1),
};

/**
 * Loads the gateway configuration. Local runs get fixed development secrets (printed by `npm start`);
 * in production a secret that is unset, shorter than 32 bytes or a development value stops the service at start.
 */
export function loadGatewayConfig(env?: NodeJS.ProcessEnv) {
  const config = loadServiceConfig('queue-gateway', gatewaySettings, env, { secrets: ['ADMIN_API_KEY', 'SESSION_JWT_SECRET', 'QUEUE_JWT_SECRET'] });
  const issues: string[] = [];
  const hashCost = { memoryKib: config.PASSWORD_HASH_MEMORY_KIB, iterations: config.PASSWORD_HASH_ITERATIONS, parallelism: config.PASSWORD_HASH_PARALLELISM };
  if (!meetsOwaspArgon2idMinimum(hashCost)) {
    issues.push('PASSWORD_HASH_MEMORY_KIB, PASSWORD_HASH_ITERATIONS: below every row of OWASP\'s argon2id minimums (e.g. 19456 KiB and 2 iterations)');
  }
  if (config.RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS < config.RATE_LIMIT_LOGIN_BLOCK_SECONDS) {
    issues.push('RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS: must not be below RATE_LIMIT_LOGIN_BLOCK_SECONDS');
  }
  if (config.RATE_LIMIT_LOGIN_FAILURE_MEMORY_SECONDS <= config.RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS) {
    issues.push('RATE_LIMIT_LOGIN_FAILURE_MEMORY_SECONDS: must be longer than RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS');
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { ...config, RATE_LIMIT_KEY_PREFIX: config.RATE_LIMIT_KEY_PREFIX ?? `${config.QUEUE_KEY_PREFIX}:rl` };
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
