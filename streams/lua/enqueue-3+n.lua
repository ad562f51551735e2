-- enqueue: add jobs to one shard, skipping any whose id is already live.
-- KEYS[1] primary ready stream   KEYS[2] secondary ready stream   KEYS[3] delayed sorted set
-- KEYS[4..] live-id buckets (hashes: job id -> "") named by the jobs below.
-- ARGV[1] now_ms; then one group of 5 per job: bucket (index into KEYS, 4 = the first bucket),
--   job_id, class ("p"|"s"), due_ms, payload. A job due at or before now is added to its ready
--   stream; a later one to the delayed set as "<class><payload>" scored by due_ms.
-- Returns: the number of jobs added (duplicates are not counted).
local now = tonumber(ARGV[1])
local added = 0
for i = 2, #ARGV, 5 do
  if redis.call('HSETNX', KEYS[tonumber(ARGV[i])], ARGV[i + 1], '') == 1 then
    local due = tonumber(ARGV[i + 3])
    if due <= now then
      local stream = KEYS[1]
      if ARGV[i + 2] == 's' then stream = KEYS[2] end
      redis.call('XADD', stream, '*', 'j', ARGV[i + 4])
    else
      redis.call('ZADD', KEYS[3], due, ARGV[i + 2] .. ARGV[i + 4])
    end
    added = added + 1
  end
end
return added
