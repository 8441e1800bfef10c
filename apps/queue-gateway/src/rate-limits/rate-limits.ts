import { ProblemError } from '@ticketing/http';
import { Counter, type Registry } from '@ticketing/telemetry';
import type { Request, RequestHandler } from 'express';
import type { Cluster, Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { isRedisUnavailable, REDIS_UNAVAILABLE_RETRY_AFTER_S } from '../waiting-room/room-redis';
import { clientAddressKey } from './client-address';
import { loginBlockSeconds, retryAfterSeconds } from './limit-policy';

/** The limits, as configured (see config.ts and the README's "Rate limits"). */
export interface RateLimitSettings {
  RATE_LIMIT_IP_REQUESTS: number;
  RATE_LIMIT_IP_WINDOW_SECONDS: number;
  RATE_LIMIT_USER_REQUESTS: number;
  RATE_LIMIT_USER_WINDOW_SECONDS: number;
  RATE_LIMIT_QUEUE_ENTRIES: number;
  RATE_LIMIT_QUEUE_ENTRY_WINDOW_SECONDS: number;
  RATE_LIMIT_SIGNUPS: number;
  RATE_LIMIT_SIGNUP_WINDOW_SECONDS: number;
  RATE_LIMIT_LOGIN_FAILURES_PER_IP: number;
  RATE_LIMIT_LOGIN_FAILURES_PER_IP_WINDOW_SECONDS: number;
  RATE_LIMIT_LOGIN_FAILURES: number;
  RATE_LIMIT_LOGIN_BLOCK_SECONDS: number;
  RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS: number;
  RATE_LIMIT_LOGIN_FAILURE_MEMORY_SECONDS: number;
}

/** Log-in's limits: taken before the password is checked, so a burst cannot outrun them. */
export interface LogInGuard {
  /** Takes one attempt of `email` from `address`; 429 RATE_LIMITED while the pair or the address is over its limit. */
  admit(email: string, address: string): Promise<void>;
  /** The password was right: the pair's failures and blocks are forgotten, the address gets its attempt back. */
  succeeded(email: string, address: string): Promise<void>;
}

export interface RateLimits {
  /** Every route, per client address; mounted ahead of every router. */
  perAddress: RequestHandler;
  /** Every route, per signed-in fan; runs after the access check has set `req.principal`. */
  perUser: RequestHandler;
  /** Entering and leaving a waiting room, per fan; after an access check has set `req.principal`. */
  queueEntry: RequestHandler;
  /** Sign-ups, per client address (whatever the answer, 409 EMAIL_TAKEN included). */
  signUp: RequestHandler;
  logIn: LogInGuard;
}

export interface RateLimitDeps {
  /** The gateway's Redis client (one server or a cluster); every counter is one key, changed by one script call. */
  redis: Redis | Cluster;
  /** Prefix of every counter's key; no hash tag, so the counters spread over a cluster's shards. */
  keyPrefix: string;
  settings: RateLimitSettings;
  /** Where `gateway_rate_limited_total{limit}` is registered (refusals by limit). */
  metrics: Registry;
}

/** The client address of a request as the limits see it (`req.ip` under the gateway's trust proxy setting). */
export const addressOf = (req: Request) => clientAddressKey(req.ip);

function unavailable(): ProblemError {
  return new ProblemError('SERVICE_UNAVAILABLE', 'the gateway cannot check its request limits for a moment; ask again shortly').retryAfter(REDIS_UNAVAILABLE_RETRY_AFTER_S);
}


// Emails are kept out of Redis's keys (they are personal data); a digest identifies them as well.
const digest = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('base64url').slice(0, 22);

export function createRateLimits({ redis, keyPrefix, settings: s, metrics }: RateLimitDeps): RateLimits {
  const refused = new Counter({ name: 'gateway_rate_limited_total', help: 'Requests answered 429 RATE_LIMITED, by limit', labelNames: ['limit'], registers: [metrics] });

  function tooMany(msBeforeNext: number, detail: string, limit: string): ProblemError {
    refused.inc({ limit });
    return new ProblemError('RATE_LIMITED', detail, { limit }).retryAfter(retryAfterSeconds(msBeforeNext));
  }

  /** A limiter's refusal as 429 with Retry-After, Redis being away as 503 (as the waiting room answers); anything else as it is. */
  function asProblem(error: unknown, detail: string, limit: string): unknown {
    if (error instanceof RateLimiterRes) return tooMany(error.msBeforeNext, detail, limit);
    if (isRedisUnavailable(error)) return unavailable();
    return error;
  }

  const limiter = (name: string, points: number, duration: number, options: { insurance?: boolean; blockInMemory?: boolean } = {}) =>
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${keyPrefix}:${name}`,
      points,
      duration,
      // A key over its limit is refused from this process's memory until its window ends, so a
      // flood costs Redis nothing once it is refused.
      inMemoryBlockOnConsumed: options.blockInMemory ? points : undefined,
      // While Redis is unreachable, the per-route limits are counted in this process alone instead
      // (each instance then allows the whole limit): a looser limit rather than refusing requests
      // that need no Redis, such as forwarded routes and polls answered from the snapshot.
      insuranceLimiter: options.insurance ? new RateLimiterMemory({ keyPrefix: `${keyPrefix}:${name}`, points, duration }) : undefined,
    });

  const perAddress = limiter('ip', s.RATE_LIMIT_IP_REQUESTS, s.RATE_LIMIT_IP_WINDOW_SECONDS, { insurance: true, blockInMemory: true });
  const perUser = limiter('user', s.RATE_LIMIT_USER_REQUESTS, s.RATE_LIMIT_USER_WINDOW_SECONDS, { insurance: true, blockInMemory: true });
  // Entries, sign-ups and log-ins guard tickets and accounts: without Redis they answer 503 (entering needs Redis anyway).
  const entries = limiter('entry', s.RATE_LIMIT_QUEUE_ENTRIES, s.RATE_LIMIT_QUEUE_ENTRY_WINDOW_SECONDS);
  const signUps = limiter('signup', s.RATE_LIMIT_SIGNUPS, s.RATE_LIMIT_SIGNUP_WINDOW_SECONDS);
  const loginFailuresPerAddress = limiter('login-ip', s.RATE_LIMIT_LOGIN_FAILURES_PER_IP, s.RATE_LIMIT_LOGIN_FAILURES_PER_IP_WINDOW_SECONDS);
  const loginFailures = limiter('login', s.RATE_LIMIT_LOGIN_FAILURES, s.RATE_LIMIT_LOGIN_FAILURE_MEMORY_SECONDS);
  const loginBlocks = limiter('login-blocks', Number.MAX_SAFE_INTEGER, s.RATE_LIMIT_LOGIN_FAILURE_MEMORY_SECONDS);
  const blockMs = s.RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS * 1_000;

  const middleware =
    (counter: RateLimiterRedis, keyOf: (req: Request) => string | undefined, detail: string, limit: string): RequestHandler =>
    (req, _res, next) => {
      const key = keyOf(req);
      if (key === undefined) return next();
      counter.consume(key).then(
        () => next(),
        (error: unknown) => next(asProblem(error, detail, limit)),
      );
    };
  const userOf = (req: Request) => req.principal?.userId;

  /** A block for the pair that has just used its free failures: twice as long as the one before, up to the maximum. */
  async function startBlock(pair: string): Promise<number> {
    const blocks = await loginBlocks.penalty(pair);
    const seconds = loginBlockSeconds(blocks.consumedPoints, s.RATE_LIMIT_LOGIN_BLOCK_SECONDS, s.RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS);
    await loginFailures.block(pair, seconds);
    return seconds * 1_000;
  }

  /**
   * How long a refused pair must wait. A refusal still inside the failures' long memory window came
   * while the attempt that crossed the limit is setting the block: say the block's length.
   */
  async function waitOf(pair: string, refusal: RateLimiterRes): Promise<number> {
    if (refusal.consumedPoints === s.RATE_LIMIT_LOGIN_FAILURES + 1) return startBlock(pair);
    if (refusal.msBeforeNext <= blockMs) return refusal.msBeforeNext;
    const blocks = (await loginBlocks.get(pair))?.consumedPoints ?? 0;
    return loginBlockSeconds(blocks, s.RATE_LIMIT_LOGIN_BLOCK_SECONDS, s.RATE_LIMIT_LOGIN_BLOCK_MAX_SECONDS) * 1_000;
  }

  const logIn: LogInGuard = {
    async admit(email, address) {
      const detail = 'too many failed log-ins; wait before trying again';
      try {
        await loginFailuresPerAddress.consume(address);
      } catch (error) {
        throw asProblem(error, 'too many failed log-ins from this address; wait before trying again', 'log-in-address');
      }
      const pair = `${digest(email)}:${address}`;
      try {
        await loginFailures.consume(pair);
      } catch (error) {
        // This attempt checks no password, so the address gets it back (if Redis is away, it stays counted).
        await loginFailuresPerAddress.reward(address).catch(() => undefined);
        if (!(error instanceof RateLimiterRes)) throw asProblem(error, detail, 'log-in');
        let waitMs: number;
        try {
          waitMs = await waitOf(pair, error);
        } catch (failure) {
          throw asProblem(failure, detail, 'log-in');
        }
        throw tooMany(waitMs, detail, 'log-in');
      }
    },

    async succeeded(email, address) {
      const pair = `${digest(email)}:${address}`;
      try {
        await Promise.all([loginFailures.delete(pair), loginBlocks.delete(pair), loginFailuresPerAddress.reward(address)]);
      } catch (error) {
        throw isRedisUnavailable(error) ? unavailable() : error;
      }
    },
  };

  return {
    perAddress: middleware(perAddress, addressOf, 'too many requests from this address; slow down', 'address'),
    perUser: middleware(perUser, userOf, 'too many requests from this account; slow down', 'user'),
    queueEntry: middleware(entries, userOf, 'too many entries into and exits from the waiting room; wait before lining up again', 'queue-entry'),
    signUp: middleware(signUps, addressOf, 'too many sign-ups from this address; wait before trying again', 'sign-up'),
    logIn,
  };
}
