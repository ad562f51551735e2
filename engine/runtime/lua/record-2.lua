-- record: remember the CRM ids of created objects, counting each object once.
--
-- An object is counted when its key had no id yet (absent or marked "-"): a job run twice, or an
-- object found again after a lost answer, is recorded and counted once.
--
-- KEYS[1]  ids hash (object key -> CRM id, or "-" for an object that will not exist)
-- KEYS[2]  live metrics hash
-- ARGV[1]  the job type whose "<type>:created" counts them
-- ARGV[2..] pairs: object key, CRM id
-- Returns  the number of objects newly recorded.

local added = 0
for i = 2, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if not old or old == '-' then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    added = added + 1
  end
end
if added > 0 then
  redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':created', added)
end
return added
