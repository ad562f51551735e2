-- unlock: release a lease only if it is still held by the caller.
--
-- KEYS[1]  the lease key
-- ARGV[1]  the owner token the lease was taken with
-- Returns  1 when released, 0 when the lease had expired or belongs to someone else.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
