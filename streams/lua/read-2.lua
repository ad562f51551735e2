-- read: deliver up to COUNT new entries to a consumer, primary stream first.
--
-- The secondary stream is read only for what the primary one could not fill. When nothing was
-- delivered, the reply carries the group's last-delivered id of each stream, so the caller can
-- block on XREAD for anything newer without holding concurrency slots and without missing an
-- entry added meanwhile.
--
-- KEYS[1]  primary ready stream
-- KEYS[2]  secondary ready stream
-- ARGV[1]  group
-- ARGV[2]  consumer
-- ARGV[3]  count
-- Returns  {primary_entries, secondary_entries, primary_last_id, secondary_last_id}; entries
--          are lists of {entry_id, {field, value, ...}}; the last two are "" unless nothing
--          was delivered.

local n = tonumber(ARGV[3])
local primary = {}
local secondary = {}
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', n, 'STREAMS', KEYS[1], '>')
if r then primary = r[1][2] end
if #primary < n then
  local s = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', n - #primary,
    'STREAMS', KEYS[2], '>')
  if s then secondary = s[1][2] end
end
local last = {'', ''}
if #primary == 0 and #secondary == 0 then
  for k = 1, 2 do
    for _, info in ipairs(redis.call('XINFO', 'GROUPS', KEYS[k])) do
      local name, delivered = nil, nil
      for f = 1, #info, 2 do
        if info[f] == 'name' then name = info[f + 1] end
        if info[f] == 'last-delivered-id' then delivered = info[f + 1] end
      end
      if name == ARGV[1] then last[k] = delivered end
    end
  end
end
return {primary, secondary, last[1], last[2]}
