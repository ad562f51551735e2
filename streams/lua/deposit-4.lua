-- deposit: add a dead letter moved from another shard (a reshard), once.
--
-- The marker names the dead letter's old shard and entry id; a dead letter whose marker is
-- present was deposited already (a reshard run again after an interruption) and is skipped.
--
-- KEYS[1]  dead-letter stream
-- KEYS[2]  dead-letter scopes hash
-- KEYS[3]  the scope's counts hash
-- KEYS[4]  moved markers hash
-- ARGV[1]  marker ("<old shard>:<entry id>")
-- ARGV[2]  scope
-- ARGV[3]  category
-- ARGV[4..] the entry's fields and values, alternating
-- Returns  1 if added, 0 if it had been added before.

if redis.call('HSETNX', KEYS[4], ARGV[1], '') == 0 then
  return 0
end
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[1], '*', unpack(fields))
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
return 1
