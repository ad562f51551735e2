-- release: hand entries this consumer will not finish back to the group (graceful shutdown).
--
-- Each entry still owned by the consumer is acknowledged, deleted and added again at the end of
-- the stream as a new entry, so any consumer's next read (or one blocked waiting for entries)
-- takes it at once, without waiting for the reclaim idle time. The new entry carries the job's
-- payload and, in field 'd', how many deliveries it had before; the interrupted one is not
-- counted. Entries owned by another consumer (reclaimed meanwhile) are left alone; an entry
-- that no longer exists only leaves the pending list.
--
-- KEYS[1]  ready stream
-- ARGV[1]  group
-- ARGV[2]  consumer
-- ARGV[3..] entry ids
-- Returns  the number of entries handed back.

local released = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    local entry = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
    redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
    if #entry > 0 then
      local fields = entry[1][2]
      local payload, before = false, 0
      for f = 1, #fields, 2 do
        if fields[f] == 'j' then payload = fields[f + 1] end
        if fields[f] == 'd' then before = tonumber(fields[f + 1]) or 0 end
      end
      redis.call('XDEL', KEYS[1], ARGV[i])
      if payload then
        local deliveries = before + math.max(tonumber(p[1][4]) - 1, 0)
        redis.call('XADD', KEYS[1], '*', 'j', payload, 'd', deliveries)
        released = released + 1
      end
    end
  end
end
return released
