import { migrateLatest } from '@ticketing/db';
import { createHttpApp, createInternalAuth, startServer, type RunningServer, type ServerLimits } from '@ticketing/http';
import { createLogger, createMetricsRegistry } from '@ticketing/telemetry';
import { createTestDatabase, deleteTaggedKeys, testServers, testServiceEnv, type TestDatabase, uniqueName } from '@ticketing/testing';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { gatewayService } from '../src/gateway.service';
import type { RateLimitSettings } from '../src/rate-limits/rate-limits';
import { createSessionTokens } from '../src/sessions/session-token';
import type { RoomSale } from '../src/waiting-room/waiting-room.repository';
import { openSale } from './room.fixture';

export const SESSION_SECRET = 'gateway-test-session-secret-0123456789abc';
const QUEUE_SECRET = 'gateway-test-queue-secret-0123456789abcdef';
const INTERNAL_SECRET = 'gateway-test-internal-secret-0123456789ab';

/**
 * Two gateway instances (own Redis connections, the same rooms) in front of a real upstream service
 * that accepts only gateway-signed calls and echoes who it was told the caller is. One sale is open
 * from the start (`concertId`, `maxActive` slots, no rate limit to speak of); `configureSale` opens
 * others. `redisUrl` (default the test servers') lets a test put the rooms on a Redis of its own, to
 * stop and restart it; `serverLimits` sets the bounds of the gateways' public servers (default: the
 * gateway's own). Each gateway is started through the service runtime as main.ts starts it, without
 * the broker (tests configure rooms as `sale.configured` would) and without its admission ticker.
 * The request limits are the gateway's defaults unless `rateLimits` changes some (their counters are
 * shared by both instances, under the harness's own key prefix); `trustProxy` is TRUST_PROXY.
 */
export async function createGatewayHarness({
  maxActive = 5,
  upstreamTimeoutMs = 800,
  snapshotEveryMs = 50,
  heartbeatMs = 15_000,
  redisUrl = testServers().REDIS_URL,
  clusterNodes,
  serverLimits,
  bodyLimitBytes,
  rateLimits = {},
  trustProxy,
}: {
  maxActive?: number;
  upstreamTimeoutMs?: number;
  snapshotEveryMs?: number;
  heartbeatMs?: number;
  redisUrl?: string;
  clusterNodes?: string[];
  serverLimits?: ServerLimits;
  bodyLimitBytes?: number;
  rateLimits?: Partial<RateLimitSettings>;
  trustProxy?: string;
} = {}) {
  const logger = createLogger('gateway-test', 'silent');
  const database: TestDatabase = await createTestDatabase('gateway');
  await migrateLatest(database.db, path.resolve(__dirname, '../migrations'));
  const keyPrefix = uniqueName('wr').replace(/:/g, '_');
  const concertId = randomUUID();
  const gateways: Awaited<ReturnType<ReturnType<typeof gatewayService>['start']>>[] = [];
  const servers: RunningServer[] = [];
  const timers: NodeJS.Timeout[] = [];

  const upstreamApp = createHttpApp(
    { logger, metrics: createMetricsRegistry('upstream'), readiness: {}, internalAuth: createInternalAuth(INTERNAL_SECRET) },
    (app) => {
      app.get('/api/v1/payments/:paymentId', () => {
        /* never answers: the gateway must time out */
      });
      app.use((req, res) => res.json({ caller: req.caller, method: req.method, path: req.path, body: req.body ?? null, clientUserIdHeader: req.get('x-user-id') ?? null, headers: req.headers }));
    },
  ).app;
  const upstream = await startServer(upstreamApp, { port: 0, host: '127.0.0.1' });
  servers.push(upstream);
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const sessionTokens = createSessionTokens({ secret: SESSION_SECRET, ttlSeconds: 3600, issuer: 'queue-gateway' });

  // The production password hasher: argon2id at OWASP's cost takes a few milliseconds.
  const service = gatewayService({ heartbeatMs });
  const limits: Record<string, string | undefined> = serverLimits
    ? {
        GATEWAY_HEADERS_TIMEOUT_MS: String(serverLimits.headersTimeoutMs),
        GATEWAY_REQUEST_TIMEOUT_MS: String(serverLimits.requestTimeoutMs),
        GATEWAY_MAX_SOCKETS_PER_CLIENT: String(serverLimits.maxSocketsPerClient),
        GATEWAY_UNCAPPED_CLIENTS: (serverLimits.uncappedClients ?? []).join(','),
      }
    : {};

  /**
   * A gateway on the shared room; `serviceUrl` sends every forwarded route to an upstream of the
   * test's own. With `topicPrefix`, it runs its consumer (sale and payment events) on those topics.
   */
  async function startGateway({ serviceUrl = upstreamUrl, walletUrl = serviceUrl, topicPrefix }: { serviceUrl?: string; walletUrl?: string; topicPrefix?: string } = {}) {
    const running = await service.start({
      env: testServiceEnv('queue-gateway', {
        databaseUrl: database.url,
        topicPrefix,
        overrides: {
          INTERNAL_AUTH_SECRET: INTERNAL_SECRET,
          SESSION_JWT_SECRET: SESSION_SECRET,
          QUEUE_JWT_SECRET: QUEUE_SECRET,
          ADMIN_API_KEY: 'test-admin-key',
          // The gateway's own client of the rooms (fail fast while Redis is away).
          REDIS_URL: redisUrl,
          REDIS_CLUSTER_NODES: clusterNodes?.join(','),
          QUEUE_KEY_PREFIX: keyPrefix,
          CATALOG_URL: serviceUrl,
          RESERVATION_URL: serviceUrl,
          WALLET_URL: walletUrl,
          PAYMENT_URL: serviceUrl,
          UPSTREAM_TIMEOUT_MS: String(upstreamTimeoutMs),
          GATEWAY_BODY_LIMIT_BYTES: bodyLimitBytes === undefined ? undefined : String(bodyLimitBytes),
          GATEWAY_OPS_PORT: '0',
          ...limits,
          ...Object.fromEntries(Object.entries(rateLimits).map(([name, value]) => [name, String(value)])),
          TRUST_PROXY: trustProxy,
        },
      }),
      logger,
      messaging: topicPrefix !== undefined,
      jobs: false,
    });
    gateways.push(running);
    const redis = running.connections.redis.client;
    redis.on('error', () => undefined);
    const { rooms, streams } = running.parts;
    if (gateways.length === 1) await rooms.configure(concertId, openSale({ maxActive }));
    const { waitingRoom, view } = rooms.room(concertId);
    // As the admission ticker does in a running gateway, but without admitting: tests admit when they choose.
    const refresher = setInterval(() => void rooms.all().then((all) => Promise.all(all.map((r) => r.view.refresh()))).catch(() => undefined), snapshotEveryMs);
    timers.push(refresher);
    return { url: `${running.url}/api/v1`, port: running.port, opsPort: running.opsPort, groupId: running.groupId, rooms, waitingRoom, view, streams, stop: running.stop };
  }

  const a = await startGateway();
  const b = await startGateway();

  return {
    a,
    b,
    startGateway,
    keyPrefix,
    /** The gateways' database (users, processed message ids). */
    db: database.db,
    /** The sale open from the start. */
    concertId,
    /** Opens (or changes) another sale's room, as `sale.configured` would. */
    async configureSale(id: string, sale: Partial<RoomSale> = {}) {
      await a.rooms.configure(id, openSale({ maxActive, ...sale }));
    },
    /** A signed-in fan (session tokens are checked by signature only, so no password hash is needed). */
    async fan(userId: string = randomUUID()) {
      return { userId, session: (await sessionTokens.issue(userId)).token };
    },
    /** Both instances take a fresh snapshot now (after a test changed the room by hand). */
    async refresh() {
      await Promise.all([a.view.refresh(), b.view.refresh()]);
    },
    async cleanup() {
      timers.forEach(clearInterval);
      try {
        // A cluster of the test's own goes away with its nodes.
        if (!clusterNodes) {
          const redis = gateways[0].connections.redis.client as Redis;
          // A test that restarted the rooms' Redis may end before this client is back (it sends nothing offline).
          if (redis.status !== 'ready') await once(redis, 'ready', { signal: AbortSignal.timeout(10_000) });
          await deleteTaggedKeys(redis, keyPrefix);
          await redis.del(`${keyPrefix}:sales`);
          await deleteKeys(redis, `${keyPrefix}:rl:*`);
        }
      } finally {
        for (const gateway of gateways.reverse()) await gateway.stop();
        for (const server of servers.reverse()) await server.close(100);
        await database.drop();
      }
    },
  };
}

/** Deletes the keys matching `pattern` (the request limits' counters: one key each, no hash tag). */
async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    if (keys.length) await Promise.all(keys.map((key) => redis.del(key)));
    cursor = next;
  } while (cursor !== '0');
}

export type GatewayHarness = Awaited<ReturnType<typeof createGatewayHarness>>;

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  /** The Retry-After header, if any. */
  retryAfter?: string;
}

export interface CallInit {
  method?: string;
  session?: string;
  queueToken?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /**
   * The source address of the connection (any 127.x.y.z reaches the gateway on 127.0.0.1 over
   * Linux's loopback): a client at another address, as the gateway's limits see it.
   */
  from?: string;
}

/** One HTTP call with the fan's credentials; returns the status, the parsed body and Retry-After. */
export async function call(url: string, init: CallInit = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.session) headers.authorization = `Bearer ${init.session}`;
  if (init.queueToken) headers['x-queue-token'] = init.queueToken;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  if (init.from) return callFrom(init.from, url, init.method ?? 'GET', headers, body);
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, retryAfter: res.headers.get('retry-after') ?? undefined };
}

function callFrom(localAddress: string, url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {}, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
