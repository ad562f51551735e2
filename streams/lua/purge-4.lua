-- purge: delete selected dead letters of one scope for good.
--
-- KEYS[1]  dead-letter stream
-- KEYS[2]  dead-letter scopes hash
-- KEYS[3]  the scope's counts hash
-- KEYS[4]  the scope's samples list
-- ARGV[1]  scope
-- ARGV[2]  "1" to also clear the scope's samples
-- ARGV[3..] pairs: entry_id, category
-- Returns  the number of dead letters deleted.

local scope = ARGV[1]
local deleted = 0
for i = 3, #ARGV, 2 do
  if redis.call('XDEL', KEYS[1], ARGV[i]) == 1 then
    if redis.call('HINCRBY', KEYS[3], ARGV[i + 1], -1) <= 0 then
      redis.call('HDEL', KEYS[3], ARGV[i + 1])
    end
    if redis.call('HINCRBY', KEYS[2], scope, -1) <= 0 then
      redis.call('HDEL', KEYS[2], scope)
    end
    deleted = deleted + 1
  end
end
if ARGV[2] == '1' then redis.call('DEL', KEYS[4]) end
return deleted
