-- throttle: a sliding-window call limiter (at most `limit` calls in any `window_ms`).
--
-- Calls older than the window are forgotten first. A call under the limit is recorded (and the
-- key expires one window after it); a call at the limit is refused and records nothing.
--
-- KEYS[1]  sorted set of recent calls (member: a unique call id, score: its time in ms)
-- ARGV[1]  now_ms
-- ARGV[2]  window_ms
-- ARGV[3]  limit
-- ARGV[4]  a unique id for this call
-- Returns  0 when the call is allowed, else the ms until the oldest recorded call leaves the
--          window (always >= 1).

local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then
  wait = 1
end
return wait
