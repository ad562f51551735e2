-- release: hand entries this consumer will not finish back to the group (graceful shutdown).
--
-- Each entry still owned by the consumer gets idle time ARGV[3] (so a reaper may claim it at
-- once) and its delivery count lowered by one: an interrupted run does not count as a delivery.
--
-- KEYS[1]  ready stream
-- ARGV[1]  group
-- ARGV[2]  consumer
-- ARGV[3]  idle_ms to set
-- ARGV[4..] entry ids
-- Returns  the number of entries released.

local released = 0
for i = 4, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    local deliveries = math.max(tonumber(p[1][4]) - 1, 0)
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3],
      'RETRYCOUNT', deliveries, 'JUSTID')
    released = released + 1
  end
end
return released
