-- withdraw: take one job off a shard whose copy now lives on another shard (a reshard).
--
-- The job leaves its ready stream (acknowledged too, when a consumer that died still held it)
-- or the delayed set, and stops counting as live here. Nothing happens when it is gone already,
-- so a reshard run again after an interruption withdraws each job once.
--
-- KEYS[1]  the ready stream or delayed sorted set holding the job
-- KEYS[2]  live counts hash (scope -> live jobs of the scope)
-- KEYS[3]  the live-id bucket of the job
-- ARGV[1]  "stream" or "delayed"
-- ARGV[2]  group (stream) or unused
-- ARGV[3]  the entry id (stream) or the member (delayed)
-- ARGV[4]  scope
-- ARGV[5]  job id
-- Returns  1 if the job was withdrawn, 0 if it was not there.

local removed
if ARGV[1] == 'stream' then
  redis.call('XACK', KEYS[1], ARGV[2], ARGV[3])
  removed = redis.call('XDEL', KEYS[1], ARGV[3])
else
  removed = redis.call('ZREM', KEYS[1], ARGV[3])
end
if removed == 1 then
  redis.call('HDEL', KEYS[3], ARGV[5])
  if redis.call('HINCRBY', KEYS[2], ARGV[4], -1) <= 0 then
    redis.call('HDEL', KEYS[2], ARGV[4])
  end
end
return removed
