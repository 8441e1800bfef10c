import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { createSessionTokens } from '../../apps/queue-gateway/src/sessions/session-token';
import { waitingRoomKeys } from '../../apps/queue-gateway/src/waiting-room/waiting-room.scripts';
import { benchConfig } from './bench-config';
import { inBatches, sleep } from './load';

/**
 * Fans as the scenarios use them through the gateway: signed in, lined up in one concert's waiting
 * room, admitted, and gone again at the end, so the next scenario finds the rooms as it found them.
 */
export interface Fan {
  userId: string;
  session: string;
  /** The concert whose room the fan stands in (the queue token names it). */
  concertId: string;
  queueToken: string;
  /** The fan's own address as a proxy in front of the gateway passes it (X-Forwarded-For); unset: the bench's. */
  address?: string;
}

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** One JSON call to the gateway's API; with `fan`, as that fan (session and queue token). */
export async function callApi(path: string, init: RequestInit & { fan?: Fan } = {}): Promise<ApiAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(init.headers as Record<string, string>) };
  if (init.fan) Object.assign(headers, fanHeaders(init.fan));
  const res = await fetch(`${benchConfig.api}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** The headers a fan's requests carry (autocannon requests set them themselves). */
export const fanHeaders = (fan: Fan): Record<string, string> => ({
  authorization: `Bearer ${fan.session}`,
  'x-queue-token': fan.queueToken,
  ...(fan.address ? { 'x-forwarded-for': fan.address } : {}),
});

const sessionTokens = createSessionTokens({ secret: benchConfig.SESSION_JWT_SECRET, ttlSeconds: 3600, issuer: 'queue-gateway' });

/** A signed-in fan: a session minted as POST /sessions issues it (logging in is not what is measured). */
export async function signIn(): Promise<{ userId: string; session: string }> {
  const userId = randomUUID();
  return { userId, session: (await sessionTokens.issue(userId)).token };
}

/** The body of POST /queue/tokens for a concert's room. */
export const entryBody = (concertId: string) => JSON.stringify({ concertId });

/** A signed-in fan enters the concert's line (POST /queue/tokens; one already in it gets the same place back). */
export async function enter(fan: { userId: string; session: string }, concertId: string): Promise<Fan> {
  const entered = await callApi('/queue/tokens', { method: 'POST', headers: { authorization: `Bearer ${fan.session}` }, body: entryBody(concertId) });
  if (entered.status !== 201) throw new Error(`queue entry answered ${entered.status} ${JSON.stringify(entered.body)}`);
  return { userId: fan.userId, session: fan.session, concertId, queueToken: entered.body.queueToken as string };
}

/** Fans signed in and lined up for the concert, in order of arrival; not yet admitted. */
export async function lineUp(count: number, concertId: string): Promise<Fan[]> {
  const fans: Fan[] = [];
  await inBatches(Array.from({ length: count }, (_, i) => i), 200, async () => void fans.push(await enter(await signIn(), concertId)));
  return fans;
}

/**
 * Waits until every fan is ACTIVE; polling also renews the places of those still waiting. Gives up
 * when `stallMs` pass with nobody admitted (the slots are held by others, or admission stopped).
 */
export async function untilAdmitted(fans: Fan[], stallMs = 30_000): Promise<void> {
  let waiting = fans;
  let progressAt = Date.now();
  for (;;) {
    const still: Fan[] = [];
    await inBatches(waiting, 100, async (fan) => {
      const { body } = await callApi('/queue/status', { fan });
      if (body.status !== 'ACTIVE') still.push(fan);
    });
    if (still.length < waiting.length) progressAt = Date.now();
    waiting = still;
    if (waiting.length === 0) return;
    if (Date.now() - progressAt > stallMs) {
      throw new Error(
        `only ${fans.length - waiting.length} of ${fans.length} fans were admitted, none in the last ${stallMs / 1000} s ` +
          `(BENCH_MAX_ACTIVE=${benchConfig.BENCH_MAX_ACTIVE}, waves of ${benchConfig.waveFans}): the active slots are held by others, or admission stopped`,
      );
    }
    await sleep(250);
  }
}

/**
 * The fans give up their places or slots (DELETE /queue/tokens/me). A token that already ended
 * (paid, ran out) answers 401 and counts as gone; a 5xx or a network error is retried, a 429 after its Retry-After.
 */
export async function leave(fans: Fan[]): Promise<void> {
  await inBatches(fans, 64, async (fan) => {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${benchConfig.api}/queue/tokens/me`, { method: 'DELETE', headers: fanHeaders(fan) }).catch(() => undefined);
      await res?.arrayBuffer();
      if (res && (res.status === 204 || res.status === 401)) return;
      if (attempt >= 5) throw new Error(`a fan could not leave the line: ${res ? `HTTP ${res.status}` : 'no answer'}`);
      await sleep(res?.status === 429 ? Number(res.headers.get('retry-after') ?? 1) * 1_000 : 200 * attempt);
    }
  });
}

/**
 * `count` fans of the concert admitted `waveSize` at a time, so a scenario needs no more active slots
 * than its sale has: each wave lines up, waits until it is admitted, runs `work`, and leaves, except
 * the fans `work` returns, which keep their slots (the next waves are smaller by as many) until the
 * end. Returns how many waves ran.
 */
export async function inWaves(concertId: string, count: number, work: (fans: Fan[], wave: number) => Promise<Fan[] | void>, waveSize = benchConfig.waveFans): Promise<number> {
  const kept: Fan[] = [];
  let done = 0;
  let wave = 0;
  try {
    while (done < count) {
      const size = Math.min(count - done, waveSize - kept.length);
      if (size <= 0) throw new Error(`waves of ${waveSize} fans cannot go on: ${kept.length} fans keep their slots`);
      const fans = await lineUp(size, concertId);
      try {
        await untilAdmitted(fans);
        const keep = (await work(fans, wave++)) ?? [];
        kept.push(...keep);
        await leave(fans.filter((f) => !keep.includes(f)));
      } catch (error) {
        await leave(fans).catch(() => undefined);
        throw error;
      }
      done += size;
    }
  } finally {
    await leave(kept);
  }
  return wave;
}

/** The key prefix of a concert's room, `<QUEUE_KEY_PREFIX>:<concertId>`, as the gateway's rooms name it (rooms.ts). */
export const roomPrefix = (concertId: string) => `${benchConfig.QUEUE_KEY_PREFIX}:${concertId.toLowerCase()}`;

/** The Redis keys of a concert's room (`{<prefix>:<concertId>}:line` …). */
export const roomKeys = (concertId: string) => waitingRoomKeys(roomPrefix(concertId));

export interface RoomCounts {
  preQueue: number;
  waiting: number;
  active: number;
}

/** How many fans a concert's room holds, everyone's (read straight from Redis). */
export async function roomCounts(redis: Redis, concertId: string): Promise<RoomCounts> {
  const keys = roomKeys(concertId);
  const [preQueue, waiting, active] = await Promise.all([redis.zcard(keys.pre), redis.zcard(keys.line), redis.zcard(keys.active)]);
  return { preQueue, waiting, active };
}

/** The fans of every room with a sale (the gateway's index of rooms, `<prefix>:sales`), summed. */
export async function allRoomCounts(redis: Redis): Promise<RoomCounts & { rooms: number }> {
  const rooms = await redis.smembers(`${benchConfig.QUEUE_KEY_PREFIX}:sales`);
  const sum = { rooms: rooms.length, preQueue: 0, waiting: 0, active: 0 };
  for (const concertId of rooms) {
    const counts = await roomCounts(redis, concertId);
    sum.preQueue += counts.preQueue;
    sum.waiting += counts.waiting;
    sum.active += counts.active;
  }
  return sum;
}
