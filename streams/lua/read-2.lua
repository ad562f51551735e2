-- read: deliver up to COUNT new entries to a consumer, primary stream first.
-- KEYS[1] primary ready stream   KEYS[2] secondary ready stream
-- ARGV[1] group   ARGV[2] consumer   ARGV[3] count
-- Returns: {primary_entries, secondary_entries}, each a list of {entry_id, {field, value, ...}}.
--   The secondary stream is read only for what the primary one could not fill.
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
return {primary, secondary}
