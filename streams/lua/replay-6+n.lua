-- replay: put selected dead letters of one scope back on their ready stream.
--
-- A dead letter is replayed only if this call deleted it from the dead-letter stream, so two
-- concurrent replays never enqueue it twice; a job whose id is live again is not re-added.
--
-- KEYS[1]  dead-letter stream
-- KEYS[2]  dead-letter scopes hash
-- KEYS[3]  the scope's counts hash
-- KEYS[4]  primary ready stream
-- KEYS[5]  secondary ready stream
-- KEYS[6]  live counts hash (scope -> live jobs of the scope)
-- KEYS[7..] live-id buckets named by the dead letters below.
-- ARGV[1]  scope
-- ARGV[2..] one group of 6 per dead letter: entry_id, bucket (index into KEYS), job_id,
--          class ("p"|"s"), category, payload (the job as it will run again).
-- Returns  {replayed, already_live, missing, taken}: taken lists the position (1 = the first
--          group) of every dead letter this call removed (replayed or already live).

local scope = ARGV[1]
local replayed, already_live, missing = 0, 0, 0
local taken = {}
for i = 2, #ARGV, 6 do
  if redis.call('XDEL', KEYS[1], ARGV[i]) == 1 then
    taken[#taken + 1] = (i - 2) / 6 + 1
    if redis.call('HINCRBY', KEYS[3], ARGV[i + 4], -1) <= 0 then
      redis.call('HDEL', KEYS[3], ARGV[i + 4])
    end
    if redis.call('HINCRBY', KEYS[2], scope, -1) <= 0 then
      redis.call('HDEL', KEYS[2], scope)
    end
    if redis.call('HSETNX', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], '') == 1 then
      local stream = KEYS[4]
      if ARGV[i + 3] == 's' then stream = KEYS[5] end
      redis.call('XADD', stream, '*', 'j', ARGV[i + 5])
      redis.call('HINCRBY', KEYS[6], scope, 1)
      replayed = replayed + 1
    else
      already_live = already_live + 1
    end
  else
    missing = missing + 1
  end
end
return {replayed, already_live, missing, taken}
