import type { Cluster, Redis } from 'ioredis';
import { CHECKPOINT_GRIDS } from './room-snapshot';

/*
 * Data layout (all keys share the hash tag `{<prefix>}`, so they sit in one Redis Cluster slot and
 * every script may touch all of them):
 *
 *   {p}:seq      string  INCR: the single arrival sequence; its value is the ticket (the queue token's id).
 *   {p}:line     zset    member = the user id as 16 raw bytes, score = ticket + leaseCode / 2^21.
 *                        Ordered by ticket (position = ZRANK + 1). The fraction holds when the user was
 *                        last seen, so the waiting lease costs no extra key or entry: ~120-130 B per waiter.
 *   {p}:active   zset    member = user id bytes, score = active-until (ms). Small: at most MAX_ACTIVE_USERS.
 *   {p}:tickets  hash    member = user id bytes → ticket of an active user (the line's score no longer has it).
 *   {p}:meta     hash    admission rate state and the lease sweep cursor.
 *   {p}:gone     stream  tickets that left the line or lost their slot by leave/expire (capped): gateways read
 *                        it with each snapshot so a fan they answer from memory learns of it within a tick.
 *
 * Why the lease lives in the score: a second sorted set by lease expiry doubles the memory per waiter
 * (~255 B measured). Refreshing the fraction never changes the order (neighbours' tickets are whole
 * numbers apart), so Redis rewrites the score in place instead of re-inserting the node. Lapsed waiters are found by (a) the waiter's own status call, (b) admission, which
 * skips a lapsed head, and (c) a sweep that walks a slice of the line on every admission tick, sized so
 * the whole line is visited once per lease. So a lapsed waiter never gets in, and those behind move up
 * at most one lease later.
 *
 * A double holds integers exactly up to 2^53: tickets below 2^32 leave 21 bits of exact fraction, i.e. the
 * last-seen time in 100 ms units modulo 2^21 (58 h). The age is read modulo that range, and an "age"
 * in the upper half is a peer gateway's clock running slightly ahead, read as fresh.
 */

/** Lease clock resolution; a lease is honoured for at least its length and lapses within 2 units after. */
export const LEASE_CODE_UNIT_MS = 100;
/** Ages are read modulo 2^21 units (58 h) and the upper half means "fresh", so a lease must stay well below 29 h. */
export const MAX_WAITING_LEASE_MS = 24 * 3_600_000;

const PRELUDE = `
local CODE_RANGE = 2097152
local CODE_UNIT_MS = ${LEASE_CODE_UNIT_MS}
local MAX_TICKET = 4294967295
local function lease_code(now) return math.floor(now / CODE_UNIT_MS) % CODE_RANGE end
local function line_score(ticket, code) return ticket + code / CODE_RANGE end
local function split_score(score)
  local ticket = math.floor(score)
  return ticket, math.floor((score - ticket) * CODE_RANGE + 0.5)
end
local function lapsed(code, now_code, lease_units)
  local age = (now_code - code) % CODE_RANGE
  if age > CODE_RANGE / 2 then return false end
  return age > lease_units
end
`;

/** Capped length of the gone stream: departures kept for gateways to pick up with their next snapshot. */
export const GONE_STREAM_MAX = 10_000;

/*
 * The room's snapshot (see room-snapshot.ts): {now, head|-1, seq, waiting, active, rate, observed, admittedTotal, n, c1, r1, ...}
 * with checkpoint ranks on fixed grids above the head (CHECKPOINT_GRIDS), each one ZCOUNT (O(log N)),
 * so its cost is bounded by the grids, not by the length of the line. Then the gone stream after `gone_after`.
 */
const SNAPSHOT = `
local GRIDS = {${CHECKPOINT_GRIDS.map((g) => `{${g.spacing}, ${g.count}}`).join(', ')}}
local function snapshot(seq_key, line, active, meta, now)
  local first = redis.call('ZRANGE', line, 0, 0, 'WITHSCORES')
  local head = -1
  if #first > 0 then head = math.floor(tonumber(first[2])) end
  local seq = tonumber(redis.call('GET', seq_key) or '0')
  local rate = redis.call('HMGET', meta, 'rate', 'observed', 'admitted')
  local out = {now, head, seq, redis.call('ZCARD', line), redis.call('ZCARD', active), rate[1] or '', rate[2] or '', rate[3] or '0', 0}
  if head >= 0 then
    local seen, points = {}, {}
    for _, grid in ipairs(GRIDS) do
      local spacing, count = grid[1], grid[2]
      local start = (math.floor(head / spacing) + 1) * spacing
      for i = 0, count - 1 do
        local c = start + i * spacing
        if c > seq then break end
        if not seen[c] then
          seen[c] = true
          points[#points + 1] = c
        end
      end
    end
    table.sort(points)
    for i = 1, #points do
      out[#out + 1] = points[i]
      out[#out + 1] = redis.call('ZCOUNT', line, '-inf', '(' .. points[i])
    end
    out[9] = #points
  end
  return out
end
local function gone_after(gone, after)
  local entries = redis.call('XRANGE', gone, '(' .. after, '+', 'COUNT', ${GONE_STREAM_MAX})
  local out = {after}
  for i = 1, #entries do
    out[#out + 1] = entries[i][2][2]
    out[1] = entries[i][1]
  end
  return out
end
local function record_gone(gone, ticket)
  redis.call('XADD', gone, 'MAXLEN', '~', ${GONE_STREAM_MAX}, '*', 't', ticket)
end
`;

/**
 * KEYS: seq, line, active, tickets, meta. ARGV: member, now, leaseUnits.
 * Returns {ticket, 2, activeUntil} for an active user, else {ticket, 1, position, rate, observedMs}.
 */
const ENTER = `${PRELUDE}
local member, now, lease_units = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now_code = lease_code(now)
local active_until = redis.call('ZSCORE', KEYS[3], member)
if active_until then
  if tonumber(active_until) > now then
    return {tonumber(redis.call('HGET', KEYS[4], member)), 2, tonumber(active_until)}
  end
  -- The slot ran out and admission has not cleared it yet: this user lines up again at the back.
  redis.call('ZREM', KEYS[3], member)
  redis.call('HDEL', KEYS[4], member)
end
local ticket
local score = redis.call('ZSCORE', KEYS[2], member)
if score then
  local t, code = split_score(tonumber(score))
  if not lapsed(code, now_code, lease_units) then ticket = t end
end
if not ticket then
  ticket = redis.call('INCR', KEYS[1])
  if ticket > MAX_TICKET then return redis.error_reply('ERR waiting room ticket sequence exhausted') end
end
redis.call('ZADD', KEYS[2], line_score(ticket, now_code), member)
local rate = redis.call('HMGET', KEYS[5], 'rate', 'observed')
return {ticket, 1, redis.call('ZRANK', KEYS[2], member) + 1, rate[1] or '', rate[2] or ''}
`;

/**
 * KEYS: line, active, tickets, meta. ARGV: now, leaseUnits, withPosition ('1' | '0'), then member, ticket pairs.
 * For each pair: where that ticket stands, renewing a current waiter's lease (a lapsed one is removed).
 * Returns per pair {0} expired, {2, activeUntil}, or {1, position, rate, observedMs} ({1} without
 * withPosition). Many fans in one call: the gateway batches the renewals and look-ups of a moment.
 */
const STATUS = `${PRELUDE}
local now, lease_units, with_position = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
local now_code = lease_code(now)
local rate
local out = {}
for i = 4, #ARGV, 2 do
  local member, ticket = ARGV[i], tonumber(ARGV[i + 1])
  local answer = {0}
  local active_until = redis.call('ZSCORE', KEYS[2], member)
  if active_until then
    active_until = tonumber(active_until)
    if active_until > now and tonumber(redis.call('HGET', KEYS[3], member)) == ticket then answer = {2, active_until} end
  else
    local score = redis.call('ZSCORE', KEYS[1], member)
    if score then
      local t, code = split_score(tonumber(score))
      if t == ticket then
        if lapsed(code, now_code, lease_units) then
          redis.call('ZREM', KEYS[1], member)
        else
          if code ~= now_code then redis.call('ZADD', KEYS[1], 'XX', line_score(t, now_code), member) end
          if with_position then
            rate = rate or redis.call('HMGET', KEYS[4], 'rate', 'observed')
            answer = {1, redis.call('ZRANK', KEYS[1], member) + 1, rate[1] or '', rate[2] or ''}
          else
            answer = {1}
          end
        end
      end
    end
  end
  out[#out + 1] = answer
end
return out
`;

/** KEYS: line, active, tickets, gone. ARGV: member, ticket. Returns 1 left the line, 2 gave up a slot, 0 not current. */
const LEAVE = `${SNAPSHOT}
local member, ticket = ARGV[1], tonumber(ARGV[2])
if redis.call('ZSCORE', KEYS[2], member) then
  if tonumber(redis.call('HGET', KEYS[3], member)) ~= ticket then return 0 end
  redis.call('ZREM', KEYS[2], member)
  redis.call('HDEL', KEYS[3], member)
  record_gone(KEYS[4], ticket)
  return 2
end
local score = redis.call('ZSCORE', KEYS[1], member)
if score and math.floor(tonumber(score)) == ticket then
  redis.call('ZREM', KEYS[1], member)
  record_gone(KEYS[4], ticket)
  return 1
end
return 0
`;

/** KEYS: line, active, tickets, gone. ARGV: member. Whatever ticket the user holds ends now; returns 1 if one did. */
const EXPIRE_USER = `${SNAPSHOT}
local member = ARGV[1]
local ticket = redis.call('HGET', KEYS[3], member)
local score = redis.call('ZSCORE', KEYS[1], member)
if score then ticket = math.floor(tonumber(score)) end
local removed = redis.call('ZREM', KEYS[1], member) + redis.call('ZREM', KEYS[2], member)
redis.call('HDEL', KEYS[3], member)
if removed > 0 then
  if ticket then record_gone(KEYS[4], ticket) end
  return 1
end
return 0
`;

/**
 * KEYS: line, active, tickets, meta, seq, gone.
 * ARGV: now, maxActive, activeTtlMs, leaseUnits, leaseMs, rateWindowMs, sweepMin, sweepMax, goneAfter ('' = no snapshot).
 * One atomic step, so any number of gateways may call it at once: drop ran-out slots, sweep a slice of
 * the line for lapsed leases, fill free slots from the head in ticket order, update the admission rate.
 * Its cost is bounded by the slots filled, the slice swept and the snapshot's grids, whatever the line's length.
 * Returns {admitted, droppedWaiters, expiredActive} and, with goneAfter, {.., snapshot, gone}.
 */
const ADMIT = `${PRELUDE}${SNAPSHOT}
local now, max_active, active_ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lease_units, lease_ms, window_ms = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local sweep_min, sweep_max = tonumber(ARGV[7]), tonumber(ARGV[8])
local now_code = lease_code(now)

local ran_out = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for i = 1, #ran_out do redis.call('HDEL', KEYS[3], ran_out[i]) end
if #ran_out > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end

local meta = redis.call('HMGET', KEYS[4], 'sweptAt', 'cursor', 'at', 'backlog', 'rate', 'observed')
local dropped = 0
local function sweep(min, max, limit)
  local page = redis.call('ZRANGEBYSCORE', KEYS[1], min, max, 'WITHSCORES', 'LIMIT', 0, limit)
  local last
  for i = 1, #page, 2 do
    local t, code = split_score(tonumber(page[i + 1]))
    if lapsed(code, now_code, lease_units) then
      redis.call('ZREM', KEYS[1], page[i])
      dropped = dropped + 1
    end
    last = t
  end
  return #page / 2, last
end
-- The slice grows with the time since the last sweep (by any gateway), so the whole line is
-- visited about once per lease however many gateways tick.
local waiting = redis.call('ZCARD', KEYS[1])
local swept_at = tonumber(meta[1]) or now
local budget = math.ceil(waiting * math.max(0, now - swept_at) / lease_ms)
budget = math.min(math.max(budget, sweep_min), sweep_max)
local cursor = tonumber(meta[2]) or 0
if budget >= waiting then
  sweep('-inf', '+inf', waiting)
  cursor = 0
elseif waiting > 0 then
  local seen, last = sweep(cursor + 1, '+inf', budget)
  if seen < budget then
    local _, wrapped = sweep('-inf', '(' .. (cursor + 1), budget - seen)
    last = wrapped or last
  end
  cursor = last or 0
end

local free = max_active - redis.call('ZCARD', KEYS[2])
local admitted = 0
local active_until = now + active_ttl
while free > 0 do
  local head = redis.call('ZPOPMIN', KEYS[1], free)
  if #head == 0 then break end
  for i = 1, #head, 2 do
    local t, code = split_score(tonumber(head[i + 1]))
    if lapsed(code, now_code, lease_units) then
      dropped = dropped + 1
    else
      redis.call('ZADD', KEYS[2], active_until, head[i])
      redis.call('HSET', KEYS[3], head[i], t)
      admitted = admitted + 1
      free = free - 1
    end
  end
end

-- Admission rate: a decaying sum (time constant window_ms) counted only over intervals that began
-- with people left waiting, i.e. when slots, not arrivals, set the pace. The first fill of empty slots
-- is a burst, not a rate. The reader divides by (1 - exp(-observed / window)) to undo the warm-up bias.
local rate, observed, last_at = tonumber(meta[5]) or 0, tonumber(meta[6]) or 0, tonumber(meta[3])
if meta[4] == '1' and last_at then
  local dt = math.max(0, now - last_at)
  rate = rate * math.exp(-dt / window_ms) + admitted * 1000 / window_ms
  observed = observed + dt
end
local backlog = 0
if redis.call('ZCARD', KEYS[1]) > 0 then backlog = 1 end
redis.call('HSET', KEYS[4], 'at', now, 'backlog', backlog, 'rate', rate, 'observed', observed, 'sweptAt', now, 'cursor', cursor)
if admitted > 0 then redis.call('HINCRBY', KEYS[4], 'admitted', admitted) end
if ARGV[9] == '' then return {admitted, dropped, #ran_out} end
return {admitted, dropped, #ran_out, snapshot(KEYS[5], KEYS[1], KEYS[2], KEYS[4], now), gone_after(KEYS[6], ARGV[9])}
`;

/** KEYS: seq, line, active, meta, gone. ARGV: now, goneAfter. The snapshot without admitting: {snapshot, gone}. */
const SNAPSHOT_READ = `${SNAPSHOT}
return {snapshot(KEYS[1], KEYS[2], KEYS[3], KEYS[4], tonumber(ARGV[1])), gone_after(KEYS[5], ARGV[2])}
`;

/** KEYS: line, active, meta. Returns {waiting, active, rate, observedMs, admittedTotal}. */
const STATS = `
local meta = redis.call('HMGET', KEYS[3], 'rate', 'observed', 'admitted')
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]), meta[1] or '', meta[2] or '', meta[3] or '0'}
`;

export interface WaitingRoomKeys {
  seq: string;
  line: string;
  active: string;
  tickets: string;
  meta: string;
  gone: string;
}

/** The keys of one waiting room; the hash tag keeps them in one cluster slot. */
export function waitingRoomKeys(prefix: string): WaitingRoomKeys {
  if (!/^[^{}\s]+$/.test(prefix)) throw new Error(`waiting room key prefix must be non-empty without braces or spaces: ${JSON.stringify(prefix)}`);
  const tag = `{${prefix}}`;
  return { seq: `${tag}:seq`, line: `${tag}:line`, active: `${tag}:active`, tickets: `${tag}:tickets`, meta: `${tag}:meta`, gone: `${tag}:gone` };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A user id (uuid) as the 16 bytes stored as a set member: less than half the memory of its text. */
export function userMember(userId: string): Buffer {
  if (!UUID.test(userId)) throw new TypeError(`user id must be a uuid: ${JSON.stringify(userId)}`);
  return Buffer.from(userId.replace(/-/g, ''), 'hex');
}

type Arg = string | number | Buffer;
type Run = (...args: Arg[]) => Promise<unknown>;

const DEFINITIONS = {
  waitingRoomEnter: { lua: ENTER, numberOfKeys: 5 },
  waitingRoomStatus: { lua: STATUS, numberOfKeys: 4 },
  waitingRoomLeave: { lua: LEAVE, numberOfKeys: 4 },
  waitingRoomExpireUser: { lua: EXPIRE_USER, numberOfKeys: 4 },
  waitingRoomAdmit: { lua: ADMIT, numberOfKeys: 6 },
  waitingRoomSnapshot: { lua: SNAPSHOT_READ, numberOfKeys: 5, readOnly: true },
  waitingRoomStats: { lua: STATS, numberOfKeys: 3, readOnly: true },
} as const;

export type WaitingRoomScripts = Record<keyof typeof DEFINITIONS, Run>;

/**
 * Registers the scripts on a client (EVALSHA, falling back to EVAL once after a script cache flush)
 * and returns them bound to it. Safe to call again on the same client.
 */
export function defineWaitingRoomScripts(redis: Redis | Cluster): WaitingRoomScripts {
  const client = redis as unknown as Record<string, Run | undefined>;
  const scripts = {} as WaitingRoomScripts;
  for (const [name, definition] of Object.entries(DEFINITIONS) as [keyof typeof DEFINITIONS, (typeof DEFINITIONS)[keyof typeof DEFINITIONS]][]) {
    if (typeof client[name] !== 'function') redis.defineCommand(name, definition);
    const run = client[name] as Run;
    scripts[name] = (...args) => run.apply(redis, args);
  }
  return scripts;
}
