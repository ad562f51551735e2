-- expand: record that records [from, upto) of segment n were enqueued, counting them once.
--
-- Jobs are enqueued before this runs (enqueueing is idempotent), so a daemon that dies in between
-- leaves the range to be enqueued again and counted here once. Only the part of [from, upto)
-- beyond what is already recorded is counted ("contact:scheduled" and "all:scheduled"). When upto
-- reaches the segment's stop, "next" moves past n (it never moves back).
--
-- KEYS[1]  segments hash ("<n>:upto", "<n>:at", "next")
-- KEYS[2]  live metrics hash
-- ARGV[1]  segment number n
-- ARGV[2]  the segment's first record
-- ARGV[3]  upto (exclusive)
-- ARGV[4]  the segment's stop (one past its last record)
-- ARGV[5]  now_ms
-- Returns  the number of records newly counted.

local n = ARGV[1]
local first, upto, stop = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local done = tonumber(redis.call('HGET', KEYS[1], n .. ':upto') or first)
local added = 0
if upto > done then
  redis.call('HSET', KEYS[1], n .. ':upto', upto)
  redis.call('HSETNX', KEYS[1], n .. ':at', ARGV[5])
  added = upto - done
  redis.call('HINCRBY', KEYS[2], 'contact:scheduled', added)
  redis.call('HINCRBY', KEYS[2], 'all:scheduled', added)
end
if upto >= stop then
  local next_segment = tonumber(redis.call('HGET', KEYS[1], 'next') or 0)
  if next_segment <= tonumber(n) then
    redis.call('HSET', KEYS[1], 'next', tonumber(n) + 1)
  end
  redis.call('HSETNX', KEYS[1], n .. ':at', ARGV[5])
end
return added
