-- state: a read-only snapshot of an account's limits, for health checks and metrics.
--
-- Computes what acquire-2.lua would see at `now` (buckets refilled, the daily count reset when
-- its reset time has passed) without writing anything.
--
-- KEYS[1]  burst window log (sorted set)
-- KEYS[2]  search window log (sorted set)
-- KEYS[3]  failure log (sorted set)
-- KEYS[4]  account state (hash; fields in limits/keys.py)
-- ARGV[1]  now_ms
-- ARGV[2]  burst window length, ms (with the safety margin)
-- ARGV[3]  search window length, ms
-- ARGV[4]  breaker failure window, ms
-- ARGV[5]  bucket refill period, ms
-- ARGV[6..] pairs: bucket kind, bucket capacity
-- Returns  {window_used, search_used, failures, open_until, probe_until, cooldown_until,
--           cooldown_daily (1|0), search_cooldown_until, daily_used, daily_reset_at,
--           window_max (0 = not reported), daily_max (0 = not reported), trips,
--           tokens of each bucket in ARGV order (rounded down)}

local window_key, search_key, failures_key, state_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local search_window_ms = tonumber(ARGV[3])
local failure_window_ms = tonumber(ARGV[4])
local refill_ms = tonumber(ARGV[5])

local function num(value, default)
  if value then return tonumber(value) end
  return default
end

local f = redis.call('HMGET', state_key, 'open_until', 'probe_until', 'cooldown_until',
  'cooldown_policy', 'search_cooldown_until', 'daily_used', 'daily_reset_at', 'window_max',
  'daily_max', 'trips')
local daily_used = num(f[6], 0)
local daily_reset_at = num(f[7], 0)
if daily_reset_at > 0 and now >= daily_reset_at then daily_used = 0 end

local out = {
  redis.call('ZCOUNT', window_key, '(' .. (now - window_ms), '+inf'),
  redis.call('ZCOUNT', search_key, '(' .. (now - search_window_ms), '+inf'),
  redis.call('ZCOUNT', failures_key, '(' .. (now - failure_window_ms), '+inf'),
  num(f[1], 0),
  num(f[2], 0),
  num(f[3], 0),
  f[4] == 'daily' and 1 or 0,
  num(f[5], 0),
  daily_used,
  daily_reset_at,
  num(f[8], 0),
  num(f[9], 0),
  num(f[10], 0),
}
for i = 6, #ARGV, 2 do
  local kind, capacity = ARGV[i], tonumber(ARGV[i + 1])
  local b = redis.call('HMGET', state_key, 'bucket:' .. kind, 'bucket_at:' .. kind)
  local tokens = math.min(num(b[1], capacity), capacity)
  local at = num(b[2], now)
  if now > at then tokens = math.min(capacity, tokens + (now - at) * capacity / refill_ms) end
  out[#out + 1] = math.floor(tokens)
end
return out
