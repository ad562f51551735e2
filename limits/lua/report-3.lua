-- report: record what a request admitted by acquire-4.lua met, for the whole account.
--
-- HubSpot's rate-limit headers first: the burst limit it reports caps ours; when it counts more
-- requests in its window than our log holds from a window before the request's admission up to
-- now (someone else uses the token), the difference is added to our log as admissions at the
-- request's admission time; the daily count is raised to what HubSpot reports used. Then the outcome:
--   'ok'            the server answered (2xx, or a 4xx other than 429). In half-open state the
--                   probe's answer closes the breaker and forgets the failures.
--   'rate_limited'  a 429: policy 'daily' holds every request until Retry-After or the daily
--                   reset; 'search' holds searches for Retry-After or the search cooldown;
--                   anything else holds every request for Retry-After or the default cooldown.
--                   A cooldown is only ever extended, never shortened.
--   'failed'        a 5xx or a network failure: entered in the failure log; when the log holds
--                   more than `threshold` failures within `failure_window_ms`, the breaker opens
--                   for `open_ms`. A failed half-open probe opens it again. While the breaker is
--                   open, late failures of requests admitted earlier change nothing.
--
-- Last, the burst window's margin is learnt (state field `margin`; absent means the cap): a
-- ten-secondly 429 (policy 'window') or headers counting more than our log puts it back at the
-- cap; headers that agree with our log shrink it by `step` ms. It never goes below the floor nor
-- below the longest round trip (admission to answer) of burst requests in this window-long
-- period and the one before (state fields `rtt`, `rtt_prev`, `rtt_period`), nor above the cap.
--
-- KEYS[1]  burst window log (sorted set)
-- KEYS[2]  failure log (sorted set, member = id, score = failure ms)
-- KEYS[3]  account state (hash; fields in limits/keys.py)
-- ARGV[1]  now_ms
-- ARGV[2]  outcome: 'ok', 'rate_limited' or 'failed'
-- ARGV[3]  429 policy: 'window', 'daily', 'search' or ''
-- ARGV[4]  Retry-After in ms (-1 when not sent)
-- ARGV[5]  default cooldown, ms
-- ARGV[6]  search cooldown, ms
-- ARGV[7]  the next daily reset after now, epoch ms
-- ARGV[8]  admission ms of the request (-1 when unknown)
-- ARGV[9]  burst window length, ms (without the margin)
-- ARGV[10] header: burst limit (-1 when absent)
-- ARGV[11] header: burst requests remaining (-1 when absent)
-- ARGV[12] header: daily limit (-1 when absent)
-- ARGV[13] header: daily requests remaining (-1 when absent)
-- ARGV[14] breaker threshold: it opens above this many failures
-- ARGV[15] breaker failure window, ms
-- ARGV[16] breaker open time, ms
-- ARGV[17] idle TTL, ms
-- ARGV[18] how old an admission may be for the header comparison, ms
-- ARGV[19] the margin's cap, ms
-- ARGV[20] the margin's floor, ms (at most the cap)
-- ARGV[21] how much an agreeing answer shrinks the margin, ms
-- ARGV[22] '1' when the request took from the burst window (its round trip bounds the margin)
-- Returns  {event, open_until, cooldown_until}: event 0 nothing changed, 1 breaker opened,
--          2 breaker opened again after a failed probe, 3 breaker closed, 4 cooldown set.

local window_key, failures_key, state_key = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
local outcome = ARGV[2]
local policy = ARGV[3]
local retry_after = tonumber(ARGV[4])
local cooldown_ms = tonumber(ARGV[5])
local search_cooldown_ms = tonumber(ARGV[6])
local next_reset = tonumber(ARGV[7])
local acquired_at = tonumber(ARGV[8])
local base_ms = tonumber(ARGV[9])
local h_max, h_remaining = tonumber(ARGV[10]), tonumber(ARGV[11])
local h_daily, h_daily_remaining = tonumber(ARGV[12]), tonumber(ARGV[13])
local threshold = tonumber(ARGV[14])
local failure_window_ms = tonumber(ARGV[15])
local open_ms = tonumber(ARGV[16])
local idle_ms = tonumber(ARGV[17])
local horizon_ms = tonumber(ARGV[18])
local margin_cap = tonumber(ARGV[19])
local margin_floor = tonumber(ARGV[20])
local margin_step = tonumber(ARGV[21])
local is_burst = ARGV[22] == '1'

local NOTHING, OPENED, REOPENED, CLOSED, COOLDOWN = 0, 1, 2, 3, 4
local event = NOTHING
local function num(value, default)
  if value then return tonumber(value) end
  return default
end

local f = redis.call('HMGET', state_key, 'open_until', 'probe_at', 'cooldown_until',
  'search_cooldown_until', 'daily_used', 'daily_reset_at', 'margin', 'rtt', 'rtt_prev',
  'rtt_period')
local open_until = num(f[1], 0)
local probe_at = num(f[2], -1)
local cooldown_until = num(f[3], 0)
local search_cooldown_until = num(f[4], 0)
local daily_used = num(f[5], 0)
local daily_reset_at = num(f[6], 0)
if now >= daily_reset_at then
  daily_used = 0
  daily_reset_at = next_reset
end
local margin = math.min(margin_cap, num(f[7], margin_cap))
local window_ms = base_ms + margin
local surprise, agreed = false, false

-- HubSpot's own count, from its headers.
if h_max > 0 then
  redis.call('HSET', state_key, 'window_max', h_max)
  if h_remaining >= 0 and acquired_at >= 0 and now - acquired_at <= horizon_ms then
    -- HubSpot counted what reached it before this request did. Requests admitted after this
    -- one may have overtaken it on the way, so ours counts up to now, not up to its admission.
    local theirs = h_max - h_remaining
    local ours = redis.call('ZCOUNT', window_key, '(' .. (acquired_at - window_ms), now)
    local missing = math.min(theirs - ours, h_max)
    if missing > 0 then surprise = true else agreed = true end
    for _ = 1, missing do
      redis.call('ZADD', window_key, acquired_at, redis.call('HINCRBY', state_key, 'seq', 1))
    end
    if missing > 0 then redis.call('PEXPIRE', window_key, window_ms + horizon_ms) end
  end
end
if h_daily > 0 then
  redis.call('HSET', state_key, 'daily_max', h_daily)
  if h_daily_remaining >= 0 and h_daily - h_daily_remaining > daily_used then
    daily_used = h_daily - h_daily_remaining
  end
end

local half_open = open_until > 0 and now >= open_until
local is_probe = half_open and probe_at >= 0 and (acquired_at < 0 or acquired_at >= probe_at)

if outcome == 'rate_limited' then
  if policy == 'search' then
    local until_ms = now + (retry_after >= 0 and retry_after or search_cooldown_ms)
    if until_ms > search_cooldown_until then
      redis.call('HSET', state_key, 'search_cooldown_until', until_ms)
      event = COOLDOWN
    end
  else
    local until_ms, why = now + (retry_after >= 0 and retry_after or cooldown_ms), 'window'
    if policy == 'daily' then
      until_ms, why = (retry_after >= 0 and now + retry_after or daily_reset_at), 'daily'
      daily_used = math.max(daily_used, num(redis.call('HGET', state_key, 'daily_max'), 0))
    else
      surprise = true
    end
    if until_ms > cooldown_until then
      redis.call('HSET', state_key, 'cooldown_until', until_ms, 'cooldown_policy', why)
      cooldown_until = until_ms
      event = COOLDOWN
    end
  end
  -- A probe met by a 429 proves nothing either way: let the next request probe again.
  if is_probe then redis.call('HDEL', state_key, 'probe_until', 'probe_at') end
elseif outcome == 'failed' then
  if is_probe then
    open_until = now + open_ms
    redis.call('HSET', state_key, 'open_until', open_until)
    redis.call('HDEL', state_key, 'probe_until', 'probe_at')
    event = REOPENED
  elseif open_until == 0 then
    redis.call('ZADD', failures_key, now, redis.call('HINCRBY', state_key, 'seq', 1))
    redis.call('ZREMRANGEBYSCORE', failures_key, '-inf', now - failure_window_ms)
    redis.call('PEXPIRE', failures_key, failure_window_ms)
    if redis.call('ZCARD', failures_key) > threshold then
      open_until = now + open_ms
      redis.call('HSET', state_key, 'open_until', open_until)
      redis.call('HINCRBY', state_key, 'trips', 1)
      redis.call('DEL', failures_key)
      event = OPENED
    end
  end
elseif outcome == 'ok' and is_probe then
  redis.call('HDEL', state_key, 'open_until', 'probe_until', 'probe_at')
  redis.call('DEL', failures_key)
  open_until = 0
  event = CLOSED
end

-- The margin: the longest recent round trip first, then what HubSpot's answer taught.
local period = math.floor(now / base_ms)
local rtt, rtt_prev, rtt_period = num(f[8], 0), num(f[9], 0), num(f[10], period)
if rtt_period ~= period then
  rtt_prev = (rtt_period == period - 1) and rtt or 0
  rtt, rtt_period = 0, period
end
if is_burst and acquired_at >= 0 and now - acquired_at <= horizon_ms then
  rtt = math.max(rtt, now - acquired_at)
end
if surprise then
  margin = margin_cap
elseif agreed then
  margin = margin - margin_step
end
margin = math.min(margin_cap, math.max(margin, margin_floor, rtt, rtt_prev))

redis.call('HSET', state_key, 'daily_used', daily_used, 'daily_reset_at', daily_reset_at,
  'margin', margin, 'rtt', rtt, 'rtt_prev', rtt_prev, 'rtt_period', rtt_period)
redis.call('PEXPIRE', state_key,
  math.max(idle_ms, daily_reset_at - now, cooldown_until - now, open_until - now))
return {event, open_until, cooldown_until}
