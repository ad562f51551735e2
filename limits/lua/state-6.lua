-- state: a read-only snapshot of an account's limits, for health checks and metrics.
--
-- Computes what acquire-4.lua would see at `now` (buckets refilled, the daily count reset when
-- its reset time has passed) without writing anything.
--
-- KEYS[1]  burst window log (sorted set)
-- KEYS[2]  search window log (sorted set)
-- KEYS[3]  failure log (sorted set)
-- KEYS[4]  account state (hash; fields in limits/keys.py)
-- KEYS[5]  senders sharing the burst window (sorted set, score = last ask ms)
-- KEYS[6]  senders refused room in it (sorted set, score = last refusal ms)
-- ARGV[1]  now_ms
-- ARGV[2]  burst window length, ms (without the margin)
-- ARGV[3]  search window length, ms
-- ARGV[4]  breaker failure window, ms
-- ARGV[5]  bucket refill period, ms
-- ARGV[6]  the margin's cap, ms
-- ARGV[7]  how long a sender stays active after it last asked, ms
-- ARGV[8..] pairs: bucket kind, bucket capacity
-- Returns  {window_used, search_used, failures, open_until, probe_until, cooldown_until,
--           cooldown_daily (1|0), search_cooldown_until, daily_used, daily_reset_at,
--           window_max (0 = not reported), daily_max (0 = not reported), trips, margin,
--           active senders, wanting senders, tokens of each bucket in ARGV order (rounded down)}

local window_key, search_key, failures_key, state_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local senders_key, wanting_key = KEYS[5], KEYS[6]
local now = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local search_window_ms = tonumber(ARGV[3])
local failure_window_ms = tonumber(ARGV[4])
local refill_ms = tonumber(ARGV[5])
local margin_cap = tonumber(ARGV[6])
local active_ms = tonumber(ARGV[7])

local function num(value, default)
  if value then return tonumber(value) end
  return default
end

local f = redis.call('HMGET', state_key, 'open_until', 'probe_until', 'cooldown_until',
  'cooldown_policy', 'search_cooldown_until', 'daily_used', 'daily_reset_at', 'window_max',
  'daily_max', 'trips', 'margin')
local daily_used = num(f[6], 0)
local daily_reset_at = num(f[7], 0)
if daily_reset_at > 0 and now >= daily_reset_at then daily_used = 0 end

local margin = math.min(margin_cap, num(f[11], margin_cap))
window_ms = window_ms + margin

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
  margin,
  redis.call('ZCOUNT', senders_key, '(' .. (now - active_ms), '+inf'),
  redis.call('ZCOUNT', wanting_key, '(' .. (now - active_ms), '+inf'),
}
for i = 8, #ARGV, 2 do
  local kind, capacity = ARGV[i], tonumber(ARGV[i + 1])
  local b = redis.call('HMGET', state_key, 'bucket:' .. kind, 'bucket_at:' .. kind)
  local tokens = math.min(num(b[1], capacity), capacity)
  local at = num(b[2], now)
  if now > at then tokens = math.min(capacity, tokens + (now - at) * capacity / refill_ms) end
  out[#out + 1] = math.floor(tokens)
end
return out
