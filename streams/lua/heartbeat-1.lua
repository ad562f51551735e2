-- heartbeat: renew this consumer's claim on entries it is still running.
--
-- Resets the idle time of each entry the consumer still owns (XCLAIM JUSTID, which does not
-- count a delivery). An entry now owned by another consumer, or settled, is left alone.
--
-- KEYS[1]  ready stream
-- ARGV[1]  group
-- ARGV[2]  consumer
-- ARGV[3..] entry ids
-- Returns  the ids this consumer no longer owns.

local lost = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
