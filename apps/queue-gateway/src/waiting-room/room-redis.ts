import { ProblemError } from '@ticketing/http';
import { Cluster, Redis, ReplyError } from 'ioredis';

/** Seconds a fan is told to wait (`Retry-After`) while the waiting room's Redis is unreachable. */
export const REDIS_UNAVAILABLE_RETRY_AFTER_S = 2;

/**
 * The gateway's client of the waiting room's Redis. Commands fail at once while it is disconnected
 * (the fan gets a 503 and asks again) rather than queueing behind a reconnect; auto-pipelining sends
 * the commands of one event-loop turn (many requests' scripts) in one write.
 */
export function createRoomRedis(url: string): Redis {
  return new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true });
}

/**
 * The same against a Redis Cluster (REDIS_CLUSTER_NODES: `host:port,...`, any of its masters): each
 * room's keys share one hash tag, so every script of a room runs on the shard that owns its slot, and
 * rooms spread over the shards. The client follows MOVED/ASK redirections when slots move.
 */
export function createRoomRedisCluster(nodes: string[], { password }: { password?: string } = {}): Cluster {
  return new Cluster(
    nodes.map((node) => {
      const at = node.lastIndexOf(':');
      return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
    }),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      redisOptions: { maxRetriesPerRequest: 1, password },
    },
  );
}

/** The gateway's waiting-room client: a Cluster when cluster nodes are configured, else one server. */
export function createRoomRedisFromConfig({ REDIS_URL, REDIS_CLUSTER_NODES }: { REDIS_URL: string; REDIS_CLUSTER_NODES?: string[] }): Redis | Cluster {
  return REDIS_CLUSTER_NODES && REDIS_CLUSTER_NODES.length > 0 ? createRoomRedisCluster(REDIS_CLUSTER_NODES) : createRoomRedis(REDIS_URL);
}

// Replies of a server that is there but cannot serve yet: loading its data after a restart, a
// replica promoted or unreachable, a script running long.
const NOT_SERVING = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|NOREPLICAS)\b/;

/**
 * True when a failed command says Redis could not be reached or cannot serve now (connection
 * refused, closed, not writable, retries spent, loading). False for a reply to the command itself
 * (a script error: a bug, left a 500) and for our own argument errors.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (error instanceof ReplyError) return NOT_SERVING.test((error as Error).message);
  return error instanceof Error && !(error instanceof TypeError || error instanceof RangeError);
}

/**
 * The same functions, each failing with 503 SERVICE_UNAVAILABLE (and `Retry-After`) when Redis is
 * unavailable, so a status poll, an entry or a forwarded route's admission check answers that,
 * never 500. Other errors pass through unchanged.
 */
export function unavailableAs503<T extends Record<string, (...args: never[]) => Promise<unknown>>>(commands: T): T {
  const wrapped = {} as Record<string, unknown>;
  for (const [name, run] of Object.entries(commands)) {
    wrapped[name] = (...args: never[]) =>
      run(...args).catch((error: unknown) => {
        if (!isRedisUnavailable(error)) throw error;
        throw new ProblemError('SERVICE_UNAVAILABLE', 'the waiting room is unavailable for a moment; keep your queue token and ask again shortly').retryAfter(
          REDIS_UNAVAILABLE_RETRY_AFTER_S,
        );
      });
  }
  return wrapped as T;
}
