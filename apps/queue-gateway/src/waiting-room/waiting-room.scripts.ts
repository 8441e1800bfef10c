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
 *   {p}:active   zset    member = user id bytes, score = active-until (ms). Small: at most the sale's maxActive.
 *   {p}:tickets  hash    member = user id bytes → ticket of an active user (the line's score no longer has it).
 *   {p}:meta     hash    admission rate state and the lease sweep cursor.
 *   {p}:gone     stream  tickets that left the line or lost their slot by leave/expire (capped): gateways read
 *                        it with each snapshot so a fan they answer from memory learns of it within a tick.
 *   {p}:sale     hash    the room's sale (from `sale.configured`): rev, qOpen, sOpen (ms), max, perMin, activeMs,
 *                        mode, pow. Every script reads it, so all gateways apply the same settings atomically.
 *   {p}:pre      zset    the pre-queue (queueOpensAt..saleOpensAt): member → pre-ticket + leaseCode / 2^21.
 *                        Pre-tickets come from the same sequence; they only name the entry, not a place.
 *   {p}:drawn    hash    member → "<pre-ticket>:<ticket>": the place each pre-queue entry got in the draw, so
 *                        a pre-queue token keeps working after the opening (it is resolved to its ticket).
 *
 * The draw: the first script that runs at or after saleOpensAt (entry, status, admission, by any gateway)
 * orders the live pre-queue by sha1(seed .. member), with a fresh random seed that gateway passed, and
 * gives them the next tickets of the sequence in that order, in one atomic step; arrivals after it get
 * later tickets, in arrival order. The seed, the time and the count are kept in {p}:meta, so the draw can
 * be recomputed and audited from the drawn hash afterwards.
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
local function read_sale(sale_key)
  local s = redis.call('HMGET', sale_key, 'rev', 'qOpen', 'sOpen', 'max', 'perMin', 'activeMs', 'mode')
  if not s[1] then return nil end
  return {rev = tonumber(s[1]), q_open = tonumber(s[2]), s_open = tonumber(s[3]), max = tonumber(s[4]),
    per_min = tonumber(s[5]), active_ms = tonumber(s[6]), passthrough = s[7] == 'passthrough'}
end
local function next_ticket(seq_key)
  local ticket = redis.call('INCR', seq_key)
  if ticket > MAX_TICKET then return nil end
  return ticket
end
-- The pre-queue's draw (see the layout comment), once, at the first call at or after the opening.
-- Returns true once the sale is open (drawn now or before).
local function draw_if_due(sale, now, lease_units, seed, seq_key, line, meta, pre, drawn)
  if now < sale.s_open then return false end
  if redis.call('HEXISTS', meta, 'drawnAt') == 1 then return true end
  local now_code = lease_code(now)
  local entries, dropped = {}, 0
  local all = redis.call('ZRANGE', pre, 0, -1, 'WITHSCORES')
  for i = 1, #all, 2 do
    local pre_ticket, code = split_score(tonumber(all[i + 1]))
    if lapsed(code, now_code, lease_units) then
      dropped = dropped + 1
    else
      entries[#entries + 1] = {all[i], pre_ticket, redis.sha1hex(seed .. all[i])}
    end
  end
  table.sort(entries, function(a, b) return a[3] < b[3] end)
  local first = ''
  for i = 1, #entries do
    local ticket = next_ticket(seq_key)
    if not ticket then return redis.error_reply('ERR waiting room ticket sequence exhausted') end
    if i == 1 then first = ticket end
    redis.call('ZADD', line, line_score(ticket, now_code), entries[i][1])
    redis.call('HSET', drawn, entries[i][1], entries[i][2] .. ':' .. ticket)
  end
  redis.call('DEL', pre)
  redis.call('HSET', meta, 'drawnAt', now, 'drawSeed', seed, 'drawCount', #entries, 'drawFirstTicket', first, 'drawLapsed', dropped)
  return true
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
 * KEYS: seq, line, active, tickets, meta, sale, pre, drawn. ARGV: member, now, leaseUnits, seed.
 * Returns {-1} without a sale, {-2, queueOpensAt} before the pre-queue opens, {preTicket, 3, saleOpensAt}
 * in the pre-queue, {ticket, 2, activeUntil} for an active user, else {ticket, 1, position, rate, observedMs}.
 * In passthrough mode a fan is admitted at once while nobody waits and a slot is free.
 */
const ENTER = `${PRELUDE}
local member, now, lease_units, seed = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local sale = read_sale(KEYS[6])
if not sale then return {-1} end
if now < sale.q_open then return {-2, sale.q_open} end
local now_code = lease_code(now)
local open = draw_if_due(sale, now, lease_units, seed, KEYS[1], KEYS[2], KEYS[5], KEYS[7], KEYS[8])
if type(open) == 'table' then return open end
if not open then
  local pre_ticket
  local score = redis.call('ZSCORE', KEYS[7], member)
  if score then
    local t, code = split_score(tonumber(score))
    if not lapsed(code, now_code, lease_units) then pre_ticket = t end
  end
  if not pre_ticket then
    pre_ticket = next_ticket(KEYS[1])
    if not pre_ticket then return redis.error_reply('ERR waiting room ticket sequence exhausted') end
  end
  redis.call('ZADD', KEYS[7], line_score(pre_ticket, now_code), member)
  return {pre_ticket, 3, sale.s_open}
end
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
  ticket = next_ticket(KEYS[1])
  if not ticket then return redis.error_reply('ERR waiting room ticket sequence exhausted') end
  if sale.passthrough and redis.call('ZCARD', KEYS[2]) == 0 and redis.call('ZCARD', KEYS[3]) < sale.max then
    local until_ms = now + sale.active_ms
    redis.call('ZADD', KEYS[3], until_ms, member)
    redis.call('HSET', KEYS[4], member, ticket)
    redis.call('HINCRBY', KEYS[5], 'admitted', 1)
    return {ticket, 2, until_ms}
  end
end
redis.call('ZADD', KEYS[2], line_score(ticket, now_code), member)
local rate = redis.call('HMGET', KEYS[5], 'rate', 'observed')
return {ticket, 1, redis.call('ZRANK', KEYS[2], member) + 1, rate[1] or '', rate[2] or ''}
`;

/**
 * KEYS: seq, line, meta, sale, pre, drawn. ARGV: member, preTicket, now, leaseUnits, seed.
 * What a pre-queue token stands for now: {3, saleOpensAt} still in the pre-queue (its lease renewed),
 * {4, ticket} drawn (from here on it is that ticket), {0} gone (left, lapsed, or not this entry).
 */
const RESOLVE_PRE = `${PRELUDE}
local member, pre_ticket, now, lease_units, seed = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local sale = read_sale(KEYS[4])
if not sale then return {0} end
local open = draw_if_due(sale, now, lease_units, seed, KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6])
if type(open) == 'table' then return open end
if open then
  local drawn = redis.call('HGET', KEYS[6], member)
  if drawn then
    local sep = string.find(drawn, ':', 1, true)
    if tonumber(string.sub(drawn, 1, sep - 1)) == pre_ticket then return {4, tonumber(string.sub(drawn, sep + 1))} end
  end
  return {0}
end
local score = redis.call('ZSCORE', KEYS[5], member)
if not score then return {0} end
local now_code = lease_code(now)
local t, code = split_score(tonumber(score))
if t ~= pre_ticket then return {0} end
if lapsed(code, now_code, lease_units) then
  redis.call('ZREM', KEYS[5], member)
  return {0}
end
if code ~= now_code then redis.call('ZADD', KEYS[5], 'XX', line_score(t, now_code), member) end
return {3, sale.s_open}
`;

/** KEYS: pre. ARGV: member, preTicket. Leaves the pre-queue; 1 if that entry was there. */
const LEAVE_PRE = `${PRELUDE}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and split_score(tonumber(score)) == tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
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

/**
 * KEYS: line, active, tickets, gone. ARGV: member, ticket. Ends that ticket (payment.completed) if it is
 * still the user's current one, active or waiting; 1 if it did. A late or repeated event for an earlier
 * ticket never ends a later admission of the same fan.
 */
const EXPIRE_TICKET = `${SNAPSHOT}
local member, ticket = ARGV[1], tonumber(ARGV[2])
local removed = 0
if tonumber(redis.call('HGET', KEYS[3], member)) == ticket then
  removed = redis.call('ZREM', KEYS[2], member)
  redis.call('HDEL', KEYS[3], member)
else
  local score = redis.call('ZSCORE', KEYS[1], member)
  if score and math.floor(tonumber(score)) == ticket then removed = redis.call('ZREM', KEYS[1], member) end
end
if removed > 0 then
  record_gone(KEYS[4], ticket)
  return 1
end
return 0
`;

/**
 * KEYS: line, active, tickets, meta, seq, gone, sale, pre, drawn.
 * ARGV: now, leaseUnits, leaseMs, rateWindowMs, sweepMin, sweepMax, goneAfter ('' = no snapshot), seed, bankMs.
 * One atomic step, so any number of gateways may call it at once: the pre-queue's draw when the sale has
 * just opened, drop ran-out slots, sweep a slice of the line for lapsed leases, fill free slots from the
 * head in ticket order, at most as many as the sale's admitPerMinute allows since the last tick (a budget
 * kept in {p}:meta, so ticks of every gateway share it; passthrough fills free slots at once), and update
 * the measured admission rate. Its cost is bounded by the slots filled, the slice swept and the
 * snapshot's grids, whatever the line's length (the draw, once, is linear in the pre-queue).
 * Returns {admitted, droppedWaiters, expiredActive, sale} and, with goneAfter, {.., snapshot, gone};
 * sale = {} without a sale, else {rev, qOpen, sOpen, max, perMin, activeMs, mode, pow, drawnAt|''}.
 */
const ADMIT = `${PRELUDE}${SNAPSHOT}
local now, lease_units, lease_ms, window_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local sweep_min, sweep_max, seed = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[8]
local now_code = lease_code(now)
local sale = read_sale(KEYS[7])
if not sale then
  if ARGV[7] == '' then return {0, 0, 0, {}} end
  return {0, 0, 0, {}, snapshot(KEYS[5], KEYS[1], KEYS[2], KEYS[4], now), gone_after(KEYS[6], ARGV[7])}
end
local open = draw_if_due(sale, now, lease_units, seed, KEYS[5], KEYS[1], KEYS[4], KEYS[8], KEYS[9])
if type(open) == 'table' then return open end
local max_active, active_ttl = sale.max, sale.active_ms

local ran_out = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for i = 1, #ran_out do redis.call('HDEL', KEYS[3], ran_out[i]) end
if #ran_out > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end

local meta = redis.call('HMGET', KEYS[4], 'sweptAt', 'cursor', 'at', 'backlog', 'rate', 'observed', 'allowance', 'allowanceAt')
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
if not open then free = 0 end
-- The rate budget: admitPerMinute accrues continuously from the opening (or the last tick of any
-- gateway), at most bankMs' worth banked (a few ticks: a late or missed tick loses nothing, an idle
-- spell never becomes a burst).
local per_ms = sale.per_min / 60000
local bank = math.max(1, per_ms * tonumber(ARGV[9]))
local allowance_at = tonumber(meta[8]) or sale.s_open
local allowance = math.min(bank, (tonumber(meta[7]) or 0) + math.max(0, now - allowance_at) * per_ms)
if not sale.passthrough then free = math.min(free, math.floor(allowance)) end
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
if open then
  if not sale.passthrough then allowance = allowance - admitted end
  redis.call('HSET', KEYS[4], 'allowance', tostring(allowance), 'allowanceAt', now)
end
redis.call('HSET', KEYS[4], 'at', now, 'backlog', backlog, 'rate', rate, 'observed', observed, 'sweptAt', now, 'cursor', cursor)
if admitted > 0 then redis.call('HINCRBY', KEYS[4], 'admitted', admitted) end
local raw = redis.call('HMGET', KEYS[7], 'rev', 'qOpen', 'sOpen', 'max', 'perMin', 'activeMs', 'mode', 'pow')
raw[8] = raw[8] or '0'
raw[9] = redis.call('HGET', KEYS[4], 'drawnAt') or ''
if ARGV[7] == '' then return {admitted, dropped, #ran_out, raw} end
return {admitted, dropped, #ran_out, raw, snapshot(KEYS[5], KEYS[1], KEYS[2], KEYS[4], now), gone_after(KEYS[6], ARGV[7])}
`;

/**
 * KEYS: sale. ARGV: rev, qOpen, sOpen, max, perMin, activeMs, mode, pow. Stores the sale unless the
 * stored one has the same or a newer revision (a repeated or reordered `sale.configured`); 1 if stored.
 */
const CONFIGURE = `
local stored = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if stored >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[1], 'qOpen', ARGV[2], 'sOpen', ARGV[3], 'max', ARGV[4], 'perMin', ARGV[5], 'activeMs', ARGV[6], 'mode', ARGV[7], 'pow', ARGV[8])
return 1
`;

/** KEYS: sale, meta. The sale's fields and the draw's record: {sale..., drawnAt, drawSeed, drawCount, drawFirstTicket, drawLapsed}. */
const DESCRIBE = `
local sale = redis.call('HMGET', KEYS[1], 'rev', 'qOpen', 'sOpen', 'max', 'perMin', 'activeMs', 'mode', 'pow')
local draw = redis.call('HMGET', KEYS[2], 'drawnAt', 'drawSeed', 'drawCount', 'drawFirstTicket', 'drawLapsed')
for i = 1, #draw do sale[#sale + 1] = draw[i] or '' end
for i = 1, 8 do sale[i] = sale[i] or '' end
return sale
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
  sale: string;
  pre: string;
  drawn: string;
}

/** The keys of one waiting room; the hash tag keeps them in one cluster slot. */
export function waitingRoomKeys(prefix: string): WaitingRoomKeys {
  if (!/^[^{}\s]+$/.test(prefix)) throw new Error(`waiting room key prefix must be non-empty without braces or spaces: ${JSON.stringify(prefix)}`);
  const tag = `{${prefix}}`;
  return {
    seq: `${tag}:seq`,
    line: `${tag}:line`,
    active: `${tag}:active`,
    tickets: `${tag}:tickets`,
    meta: `${tag}:meta`,
    gone: `${tag}:gone`,
    sale: `${tag}:sale`,
    pre: `${tag}:pre`,
    drawn: `${tag}:drawn`,
  };
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
  waitingRoomEnter: { lua: ENTER, numberOfKeys: 8 },
  waitingRoomResolvePre: { lua: RESOLVE_PRE, numberOfKeys: 6 },
  waitingRoomLeavePre: { lua: LEAVE_PRE, numberOfKeys: 1 },
  waitingRoomStatus: { lua: STATUS, numberOfKeys: 4 },
  waitingRoomLeave: { lua: LEAVE, numberOfKeys: 4 },
  waitingRoomExpireTicket: { lua: EXPIRE_TICKET, numberOfKeys: 4 },
  waitingRoomAdmit: { lua: ADMIT, numberOfKeys: 9 },
  waitingRoomConfigure: { lua: CONFIGURE, numberOfKeys: 1 },
  waitingRoomDescribe: { lua: DESCRIBE, numberOfKeys: 2, readOnly: true },
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
