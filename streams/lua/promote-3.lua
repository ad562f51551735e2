-- promote: move jobs that are due from the delayed set to their ready stream, oldest first.
--
-- Atomic, so any number of movers may run it at once: a job is moved exactly once.
--
-- KEYS[1]  delayed sorted set
-- KEYS[2]  primary ready stream
-- KEYS[3]  secondary ready stream
-- ARGV[1]  now_ms
-- ARGV[2]  most jobs to move in this call
-- Returns  {moved, next_due_ms} where next_due_ms is the earliest remaining score, or -1.

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local stream = KEYS[2]
  if string.byte(member, 1) == 115 then stream = KEYS[3] end -- "s"
  redis.call('XADD', stream, '*', 'j', string.sub(member, 2))
end
if #due > 0 then
  redis.call('ZREM', KEYS[1], unpack(due))
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local next_due = -1
if #first > 0 then next_due = tonumber(first[2]) end
return {#due, next_due}
