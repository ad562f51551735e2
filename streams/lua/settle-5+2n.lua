-- settle: apply many jobs' outcomes in one atomic step.
-- KEYS[1] the ready stream the entries were read from   KEYS[2] delayed sorted set
-- KEYS[3] ids set   KEYS[4] dead-letter stream   KEYS[5] dead-letter scopes hash
-- KEYS[4+2j] and KEYS[5+2j]: dead-letter counts hash and samples list of the j-th scope that
--   has a dead letter in this call (j = 1, 2, ...).
-- ARGV[1] group   ARGV[2] now_ms   ARGV[3] samples kept per scope; then one record per job:
--   "a", entry_id, job_id                         done: ack, delete, forget the id
--   "r", entry_id, due_ms, member                 again later: member is "<class><payload>";
--                                                 due now -> back on KEYS[1], else delayed
--   "d", entry_id, job_id, j, scope, category, error, attempts, payload, sample
--                                                 dead letter for scope j of the KEYS pairs
-- A record applies only if its entry was still pending (XACK returned 1): settling an entry
-- twice, or settling one another consumer already settled, changes nothing.
-- Returns: {acked, rescheduled, dead, stale}.
local group = ARGV[1]
local now = tonumber(ARGV[2])
local sample_max = tonumber(ARGV[3])
local acked, rescheduled, dead, stale = 0, 0, 0, 0
local i = 4
while i <= #ARGV do
  local op = ARGV[i]
  local entry = ARGV[i + 1]
  local live = redis.call('XACK', KEYS[1], group, entry) == 1
  if live then redis.call('XDEL', KEYS[1], entry) else stale = stale + 1 end
  if op == 'a' then
    if live then
      redis.call('SREM', KEYS[3], ARGV[i + 2])
      acked = acked + 1
    end
    i = i + 3
  elseif op == 'r' then
    if live then
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
    if live then
      local j = tonumber(ARGV[i + 3])
      local scope, category = ARGV[i + 4], ARGV[i + 5]
      redis.call('SREM', KEYS[3], ARGV[i + 2])
      redis.call('XADD', KEYS[4], '*', 'job', ARGV[i + 8], 'scope', scope, 'category', category,
        'error', ARGV[i + 6], 'attempts', ARGV[i + 7], 'failed_at', ARGV[2])
      redis.call('HINCRBY', KEYS[5], scope, 1)
      redis.call('HINCRBY', KEYS[4 + 2 * j], category, 1)
      redis.call('LPUSH', KEYS[5 + 2 * j], ARGV[i + 9])
      redis.call('LTRIM', KEYS[5 + 2 * j], 0, sample_max - 1)
      dead = dead + 1
    end
    i = i + 10
  else
    return redis.error_reply('settle: unknown record kind ' .. tostring(op))
  end
end
return {acked, rescheduled, dead, stale}
