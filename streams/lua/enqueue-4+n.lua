-- enqueue: add jobs to one shard, skipping any whose id is already live.
--
-- A job due at or before now is added to its ready stream; a later one to the delayed set as
-- "<class><payload>" scored by due_ms. Three arguments per call, whatever the number of jobs,
-- keep the client's encoding cost low.
--
-- KEYS[1]  primary ready stream
-- KEYS[2]  secondary ready stream
-- KEYS[3]  delayed sorted set
-- KEYS[4]  live counts hash (scope -> live jobs of the scope)
-- KEYS[5..] live-id buckets (hashes: job id -> "") named by the jobs below.
-- ARGV[1]  now_ms
-- ARGV[2]  one line per job, each ending in "\n":
--          "<bucket>:<class>:<due_ms>:<size>:<scope length>:<scope><job_id>"
--          (bucket: index into KEYS, 5 = the first bucket; class "p"|"s"; size: payload bytes)
-- ARGV[3]  the jobs' payloads, concatenated in the same order.
-- Returns  the number of jobs added (duplicates are not counted).

local now = tonumber(ARGV[1])
local blob = ARGV[3]
local offset = 1
local added = 0
for bucket, class, due_text, size, scope_len, rest in
    string.gmatch(ARGV[2], '(%d+):(%a):(%d+):(%d+):(%d+):([^\n]*)\n') do
  local payload = string.sub(blob, offset, offset + tonumber(size) - 1)
  offset = offset + tonumber(size)
  local scope = string.sub(rest, 1, tonumber(scope_len))
  local id = string.sub(rest, tonumber(scope_len) + 1)
  if redis.call('HSETNX', KEYS[tonumber(bucket)], id, '') == 1 then
    redis.call('HINCRBY', KEYS[4], scope, 1)
    local due = tonumber(due_text)
    if due <= now then
      local stream = KEYS[1]
      if class == 's' then stream = KEYS[2] end
      redis.call('XADD', stream, '*', 'j', payload)
    else
      redis.call('ZADD', KEYS[3], due, class .. payload)
    end
    added = added + 1
  end
end
return added
