-- settle: apply many jobs' outcomes in one atomic step.
--
-- A record applies only if its entry was still pending (XACK returned 1): settling an entry
-- twice, or settling one another consumer already settled, changes nothing. A job that leaves
-- the queue (done or dead) no longer counts as live for its scope.
--
-- KEYS[1]  the ready stream the entries were read from
-- KEYS[2]  delayed sorted set
-- KEYS[3]  dead-letter stream
-- KEYS[4]  dead-letter scopes hash
-- KEYS[5]  live counts hash (scope -> live jobs of the scope)
-- KEYS[6..] live-id buckets and, for scopes with a dead letter here, their dead-letter counts
--          hash and samples list; records name them by index into KEYS.
-- ARGV[1]  group
-- ARGV[2]  now_ms
-- ARGV[3]  samples kept per scope
-- ARGV[4..] one record per job:
--          "a:<bucket>:<entry_id>:<scope length>:<scope><job_id>"
--                                               done: ack, delete, forget the id (one item)
--          "r", entry_id, due_ms, member        again later: member is "<class><payload>";
--                                               due now -> back on KEYS[1], else delayed
--          "d", entry_id, bucket, job_id, counts, samples, scope, category, error, attempts,
--               payload, sample                 dead letter (counts, samples: KEYS indexes)
-- Returns  {acked, rescheduled, dead, stale}.

local group = ARGV[1]
local now = tonumber(ARGV[2])
local sample_max = tonumber(ARGV[3])
local acked, rescheduled, dead, stale = 0, 0, 0, 0

-- One live job fewer for the scope (the field goes when none is left).
local function forget(scope)
  if scope ~= '' and redis.call('HINCRBY', KEYS[5], scope, -1) <= 0 then
    redis.call('HDEL', KEYS[5], scope)
  end
end

-- Acknowledge and delete the entry; true only if it was still pending.
local function take(entry)
  if redis.call('XACK', KEYS[1], group, entry) == 1 then
    redis.call('XDEL', KEYS[1], entry)
    return true
  end
  stale = stale + 1
  return false
end

local i = 4
while i <= #ARGV do
  local op = ARGV[i]
  if string.sub(op, 1, 2) == 'a:' then
    local bucket, entry, scope_len, rest = string.match(op, '^a:(%d+):([^:]+):(%d+):(.*)$')
    if take(entry) then
      redis.call('HDEL', KEYS[tonumber(bucket)], string.sub(rest, tonumber(scope_len) + 1))
      forget(string.sub(rest, 1, tonumber(scope_len)))
      acked = acked + 1
    end
    i = i + 1
  elseif op == 'r' then
    if take(ARGV[i + 1]) then
      local due = tonumber(ARGV[i + 2])
      local member = ARGV[i + 3]
      if due <= now then
        redis.call('XADD', KEYS[1], '*', 'j', string.sub(member, 2))
      else
        redis.call('ZADD', KEYS[2], due, member)
      end
      rescheduled = rescheduled + 1
    end
    i = i + 4
  elseif op == 'd' then
    if take(ARGV[i + 1]) then
      local counts, samples = KEYS[tonumber(ARGV[i + 4])], KEYS[tonumber(ARGV[i + 5])]
      local scope, category = ARGV[i + 6], ARGV[i + 7]
      redis.call('HDEL', KEYS[tonumber(ARGV[i + 2])], ARGV[i + 3])
      forget(scope)
      redis.call('XADD', KEYS[3], '*', 'job', ARGV[i + 10], 'scope', scope, 'category', category,
        'error', ARGV[i + 8], 'attempts', ARGV[i + 9], 'failed_at', ARGV[2])
      redis.call('HINCRBY', KEYS[4], scope, 1)
      redis.call('HINCRBY', counts, category, 1)
      redis.call('LPUSH', samples, ARGV[i + 11])
      redis.call('LTRIM', samples, 0, sample_max - 1)
      dead = dead + 1
    end
    i = i + 12
  else
    return redis.error_reply('settle: unknown record kind ' .. tostring(op))
  end
end
return {acked, rescheduled, dead, stale}
