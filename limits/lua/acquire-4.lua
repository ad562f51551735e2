-- acquire: admit one request for an account, or say how long to wait and why.
--
-- Nothing is consumed unless every check passes. The checks: the circuit breaker (open, or
-- half-open with its one probe already out), the 429 cooldown, the daily budget, the rolling
-- window (a log of admission times: at most `limit` admissions inside any window-long span),
-- the sender's fair share of the burst window, and the kind's token bucket (refilled
-- continuously, `capacity` units per `refill_ms`). When all pass, the admission is recorded: one
-- window entry (naming its sender), `cost` bucket units, one daily unit and, in half-open state,
-- this request becomes the breaker's probe. When several checks refuse, the longest wait is
-- returned with its reason. Admissions older than the window are kept for `history_ms` so that
-- report-3.lua can compare HubSpot's count with ours.
--
-- The burst window spans `window_ms` plus the margin learnt by report-3.lua (the state's
-- `margin`, the cap when none is learnt yet).
--
-- Fair share (burst window, named senders only): a sender is active while it asked within
-- `active_ms`; each of n active senders has a share of limit / n. A sender holding at least its
-- share is refused (reason share) when the room left in the window is no more than what the
-- other senders that want room (refused room within `active_ms`) lack to reach their shares.
-- So a lone sender, or one whose peers are idle or served, takes the whole window, while one
-- that wants room gets free slots until it holds its share. The wait lasts until enough of the
-- sender's own admissions leave the window to bring it below its share. Asking marks the sender
-- active, and a refusal for room (reason window or share) marks it wanting.
--
-- KEYS[1]  window log (sorted set, member = admission id or '<id>:<sender>', score = admission
--          ms): the burst window, or the search window for searches
-- KEYS[2]  account state (hash; fields in limits/keys.py)
-- KEYS[3]  senders sharing the burst window (sorted set, member = sender, score = last ask ms)
-- KEYS[4]  senders refused room in it (sorted set, member = sender, score = last refusal ms)
-- ARGV[1]  now_ms
-- ARGV[2]  window limit (admissions per window)
-- ARGV[3]  window length, ms (without the margin)
-- ARGV[4]  bucket kind ('' for none)
-- ARGV[5]  bucket capacity (units)
-- ARGV[6]  bucket refill period, ms
-- ARGV[7]  cost, bucket units
-- ARGV[8]  daily limit (0 = none)
-- ARGV[9]  the next daily reset after now, epoch ms
-- ARGV[10] cooldown field: 'cooldown_until' or 'search_cooldown_until'
-- ARGV[11] half-open probe timeout, ms
-- ARGV[12] idle TTL, ms
-- ARGV[13] '1' when KEYS[1] is the burst window (HubSpot's reported limit, the learnt margin
--          and the fair share apply), else '0'
-- ARGV[14] history kept in the window log beyond the window, ms
-- ARGV[15] the margin's cap, ms: the margin used while none is learnt
-- ARGV[16] sender ('' for none: no share is checked or taken)
-- ARGV[17] how long a sender stays active after it last asked, ms
-- Returns  {1, 0, probe} when admitted (probe 1 when this request is the half-open probe);
--          {0, wait_ms, reason} when refused: reason 1 window, 2 bucket, 3 daily, 4 cooldown,
--          5 breaker, 6 share.

local window_key, state_key, senders_key, wanting_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
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
local margin_cap = tonumber(ARGV[15])
local sender = ARGV[16]
local active_ms = tonumber(ARGV[17])

local WINDOW, BUCKET, DAILY, COOLDOWN, BREAKER, SHARE = 1, 2, 3, 4, 5, 6
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
  'bucket:' .. kind, 'bucket_at:' .. kind, 'margin')
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

local sharing = is_burst and sender ~= ''
if is_burst then
  local reported = num(f[8], 0)
  if reported > 0 and reported < limit then limit = reported end
  window_ms = window_ms + math.min(margin_cap, num(f[11], margin_cap))
end
redis.call('ZREMRANGEBYSCORE', window_key, '-inf', now - window_ms - history_ms)
local used = redis.call('ZCOUNT', window_key, '(' .. (now - window_ms), '+inf')
if used >= limit then
  -- The (used - limit + 1)-th oldest admission in the window must leave before one more fits.
  local oldest = redis.call('ZRANGEBYSCORE', window_key, '(' .. (now - window_ms), '+inf',
    'WITHSCORES', 'LIMIT', used - limit, 1)
  refuse(tonumber(oldest[2]) + window_ms - now, WINDOW)
end

if sharing then
  redis.call('ZREMRANGEBYSCORE', senders_key, '-inf', now - active_ms)
  redis.call('ZREMRANGEBYSCORE', wanting_key, '-inf', now - active_ms)
  redis.call('ZADD', senders_key, now, sender)
  redis.call('PEXPIRE', senders_key, active_ms)
  local active = redis.call('ZCARD', senders_key)
  if active > 1 then
    local share = limit / active
    local held, mine = {}, {}
    local entries = redis.call('ZRANGEBYSCORE', window_key, '(' .. (now - window_ms), '+inf',
      'WITHSCORES')
    for i = 1, #entries, 2 do
      local who = string.match(entries[i], '^%d+:(.+)$')
      if who then
        held[who] = (held[who] or 0) + 1
        if who == sender then mine[#mine + 1] = tonumber(entries[i + 1]) end
      end
    end
    if #mine >= share then
      local owed = 0
      for _, other in ipairs(redis.call('ZRANGE', wanting_key, 0, -1)) do
        local theirs = held[other] or 0
        if other ~= sender and theirs < share then owed = owed + math.ceil(share) - theirs end
      end
      if owed > 0 and limit - used <= owed then
        -- Below the share means at most ceil(share) - 1 admissions: the oldest ones beyond
        -- that must leave, the last of them at mine[#mine - below].
        local below = math.ceil(share) - 1
        refuse(mine[#mine - below] + window_ms - now, SHARE)
      end
    end
  end
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

if wait > 0 then
  if sharing and (reason == WINDOW or reason == SHARE) then
    redis.call('ZADD', wanting_key, now, sender)
    redis.call('PEXPIRE', wanting_key, active_ms)
  end
  return {0, wait, reason}
end

local id = redis.call('HINCRBY', state_key, 'seq', 1)
if sharing then id = id .. ':' .. sender end
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
