-- reclaim: take over entries idle longer than the visibility timeout, counting it as a delivery.
--
-- Their consumer died or stopped renewing its claim. Works on Redis 6.2 (deleted entries stay
-- pending) and 7.x (XAUTOCLAIM reports them itself).
--
-- KEYS[1]  ready stream
-- ARGV[1]  group
-- ARGV[2]  consumer
-- ARGV[3]  min_idle_ms
-- ARGV[4]  cursor
-- ARGV[5]  count
-- Returns  {next_cursor, claimed, lost}: claimed is a list of {entry_id, payload, deliveries}
--          (deliveries includes this one, and those before a hand-back: field 'd'); lost lists pending ids whose entry no longer exists
--          (they are acknowledged, so they leave the pending list).

local res = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  'COUNT', tonumber(ARGV[5]), 'JUSTID')
local claimed = {}
local lost = {}
for _, id in ipairs(res[2]) do
  local entry = redis.call('XRANGE', KEYS[1], id, id)
  if #entry == 0 then
    redis.call('XACK', KEYS[1], ARGV[1], id)
    lost[#lost + 1] = id
  else
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
    local deliveries = tonumber(p[1][4]) + 1
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'RETRYCOUNT', deliveries, 'JUSTID')
    local fields = entry[1][2]
    local payload, before = false, 0
    for f = 1, #fields, 2 do
      if fields[f] == 'j' then payload = fields[f + 1] end
      if fields[f] == 'd' then before = tonumber(fields[f + 1]) or 0 end
    end
    claimed[#claimed + 1] = {id, payload, deliveries + before}
  end
end
if res[3] then
  for _, id in ipairs(res[3]) do lost[#lost + 1] = id end
end
return {res[1], claimed, lost}
