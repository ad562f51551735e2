-- enqueue: add jobs to one shard, skipping any whose id is already live.
-- KEYS[1] ids set of live job ids     KEYS[2] primary ready stream
-- KEYS[3] secondary ready stream      KEYS[4] delayed sorted set
-- ARGV[1] now_ms; then one group of 4 per job: job_id, class ("p"|"s"), due_ms, payload.
--   A job due at or before now is added to its ready stream; a later one to the delayed set
--   as "<class><payload>" scored by due_ms.
-- Returns: the number of jobs added (duplicates are not counted).
local now = tonumber(ARGV[1])
local added = 0
for i = 2, #ARGV, 4 do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    local due = tonumber(ARGV[i + 2])
    if due <= now then
      local stream = KEYS[2]
      if ARGV[i + 1] == 's' then stream = KEYS[3] end
      redis.call('XADD', stream, '*', 'j', ARGV[i + 3])
    else
      redis.call('ZADD', KEYS[4], due, ARGV[i + 1] .. ARGV[i + 3])
    end
    added = added + 1
  end
end
return added
