-- acquire: admit one request for an account, or say how long to wait and why.
--
-- Nothing is consumed unless every check passes. The checks: the circuit breaker (open, or
-- half-open with its one probe already out), the 429 cooldown, the daily budget, the rolling
-- window (a log of admission times: at most `limit` admissions inside any `window_ms` span) and
-- the kind's token bucket (refilled continuously, `capacity` units per `refill_ms`). When all
-- pass, the admission is recorded: one window entry, `cost` bucket units, one daily unit and, in
-- half-open state, this request becomes the breaker's probe. When several checks refuse, the
-- longest wait is returned with its reason. Admissions older than the window are kept for
-- `history_ms` so that report-3.lua can compare HubSpot's count with ours.
--
-- KEYS[1]  window log (sorted set, member = admission id, score = admission ms): the burst
--          window, or the search window for searches
-- KEYS[2]  account state (hash; fields in limits/keys.py)
-- ARGV[1]  now_ms
-- ARGV[2]  window limit (admissions per window)
-- ARGV[3]  window length, ms (with the safety margin)
-- ARGV[4]  bucket kind ('' for none)
-- ARGV[5]  bucket capacity (units)
-- ARGV[6]  bucket refill period, ms
-- ARGV[7]  cost, bucket units
-- ARGV[8]  daily limit (0 = none)
-- ARGV[9]  the next daily reset after now, epoch ms
-- ARGV[10] cooldown field: 'cooldown_until' or 'search_cooldown_until'
-- ARGV[11] half-open probe timeout, ms
-- ARGV[12] idle TTL, ms
-- ARGV[13] '1' when KEYS[1] is the burst window (HubSpot's reported limit applies), else '0'
-- ARGV[14] history kept in the window log beyond the window, ms
-- Returns  {1, 0, probe} when admitted (probe 1 when this request is the half-open probe);
--          {0, wait_ms, reason} when refused: reason 1 window, 2 bucket, 3 daily, 4 cooldown,
--          5 breaker.

local window_key, state_key = KEYS[1], KEYS[2]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window_ms = tonumber(ARGV[3])
local kind = ARGV[4]
local capacity = tonumber(ARGV[5])
local refill_ms = tonumber(ARGV[6])
local cost = tonumber(ARGV[7])
local daily_limit = tonumber(ARGV[8])
local next_reset = tonumber(ARGV[9])
local cooldown_field = ARGV[10]
local probe_ms = tonumber(ARGV[11])
local idle_ms = tonumber(ARGV[12])
local is_burst = ARGV[13] == '1'
local history_ms = tonumber(ARGV[14])

local WINDOW, BUCKET, DAILY, COOLDOWN, BREAKER = 1, 2, 3, 4, 5
local wait, reason = 0, 0
local function refuse(ms, why)
  if ms < 1 then ms = 1 end
  if ms > wait then wait, reason = ms, why end
end
local function num(value, default)
  if value then return tonumber(value) end
  return default
end

local f = redis.call('HMGET', state_key, 'open_until', 'probe_until', cooldown_field,
  'cooldown_policy', 'daily_used', 'daily_reset_at', 'daily_max', 'window_max',
  'bucket:' .. kind, 'bucket_at:' .. kind)
local open_until = num(f[1], 0)
local probe_until = num(f[2], 0)
local cooldown_until = num(f[3], 0)

-- Circuit breaker: closed (no open_until), open (now < open_until), or half-open.
local probe = 0
if open_until > 0 then
  if now < open_until then
    refuse(open_until - now, BREAKER)
  elseif probe_until > now then
    refuse(probe_until - now, BREAKER)
  else
    probe = 1
  end
end

if cooldown_until > now then
  if cooldown_field == 'cooldown_until' and f[4] == 'daily' then
    refuse(cooldown_until - now, DAILY)
  else
    refuse(cooldown_until - now, COOLDOWN)
  end
end

local daily_used = num(f[5], 0)
local daily_reset_at = num(f[6], 0)
if daily_limit > 0 then
  local reported = num(f[7], 0)
  if reported > 0 and reported < daily_limit then daily_limit = reported end
  if now >= daily_reset_at then
    daily_used = 0
    daily_reset_at = next_reset
  end
  if daily_used + 1 > daily_limit then refuse(daily_reset_at - now, DAILY) end
end

redis.call('ZREMRANGEBYSCORE', window_key, '-inf', now - window_ms - history_ms)
if is_burst then
  local reported = num(f[8], 0)
  if reported > 0 and reported < limit then limit = reported end
end
local used = redis.call('ZCOUNT', window_key, '(' .. (now - window_ms), '+inf')
if used >= limit then
  -- The (used - limit + 1)-th oldest admission in the window must leave before one more fits.
  local oldest = redis.call('ZRANGEBYSCORE', window_key, '(' .. (now - window_ms), '+inf',
    'WITHSCORES', 'LIMIT', used - limit, 1)
  refuse(tonumber(oldest[2]) + window_ms - now, WINDOW)
end

local tokens, bucket_at = 0, now
if kind ~= '' then
  tokens = num(f[9], capacity)
  bucket_at = num(f[10], now)
  if tokens > capacity then tokens = capacity end
  if now > bucket_at then
    tokens = math.min(capacity, tokens + (now - bucket_at) * capacity / refill_ms)
    bucket_at = now
  end
  if tokens < cost then refuse(math.ceil((cost - tokens) * refill_ms / capacity), BUCKET) end
end

if wait > 0 then return {0, wait, reason} end

local id = redis.call('HINCRBY', state_key, 'seq', 1)
redis.call('ZADD', window_key, now, id)
if kind ~= '' then
  redis.call('HSET', state_key, 'bucket:' .. kind, string.format('%.6f', tokens - cost),
    'bucket_at:' .. kind, bucket_at)
end
local keep = idle_ms
if daily_limit > 0 then
  redis.call('HSET', state_key, 'daily_used', daily_used + 1, 'daily_reset_at', daily_reset_at)
  keep = math.max(keep, daily_reset_at - now)
end
if probe == 1 then
  redis.call('HSET', state_key, 'probe_until', now + probe_ms, 'probe_at', now)
end
redis.call('PEXPIRE', window_key, window_ms + history_ms)
redis.call('PEXPIRE', state_key, math.max(keep, cooldown_until - now, open_until - now))
return {1, 0, probe}
