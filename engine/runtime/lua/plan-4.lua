-- plan: admit one record's activities against the simulation's budgets, exactly once.
--
-- A type without a field in the budget hash is unlimited; a budgeted type is admitted while its
-- remaining count is above zero (and decremented, never below zero). "deal_stage_update" is
-- admitted only after a "deal" of the same record was. Admitted activities are counted as
-- "<type>:scheduled" and "all:scheduled", thinned ones as "<type>:thinned". The mask has one
-- character per activity: "1" admitted, "0" over budget, "t" thinned. It stays in the pending
-- hash until the caller has enqueued the jobs and deletes it, so a caller that died in between
-- gets the same mask back: budgets are never spent twice, thinning is never decided twice.
--
-- KEYS[1]  planned bitmap (bit i: record i planned)
-- KEYS[2]  budget hash (type -> remaining)
-- KEYS[3]  pending plans hash (record index -> mask, until its jobs are enqueued)
-- KEYS[4]  live metrics hash ("<type>:<metric>" -> count)
-- ARGV[1]  record index
-- ARGV[2..] every activity of the record's plan, in plan order: its type, or "~" and its type
--          when thinning dropped it.
-- Returns  {0, mask} planned now; {1, mask} planned before, jobs maybe not enqueued yet;
--          {2, ""} planned and enqueued before.

local index = ARGV[1]
if redis.call('GETBIT', KEYS[1], index) == 1 then
  local pending = redis.call('HGET', KEYS[3], index)
  if pending then
    return {1, pending}
  end
  return {2, ''}
end
local mask = {}
local deal_kept = false
local admitted = 0
for i = 2, #ARGV do
  local kind = ARGV[i]
  if string.sub(kind, 1, 1) == '~' then
    redis.call('HINCRBY', KEYS[4], string.sub(kind, 2) .. ':thinned', 1)
    mask[#mask + 1] = 't'
  else
    local keep = kind ~= 'deal_stage_update' or deal_kept
    if keep then
      local left = redis.call('HGET', KEYS[2], kind)
      if left then
        if tonumber(left) > 0 then
          redis.call('HINCRBY', KEYS[2], kind, -1)
        else
          keep = false
        end
      end
    end
    if keep then
      if kind == 'deal' then
        deal_kept = true
      end
      redis.call('HINCRBY', KEYS[4], kind .. ':scheduled', 1)
      admitted = admitted + 1
      mask[#mask + 1] = '1'
    else
      mask[#mask + 1] = '0'
    end
  end
end
if admitted > 0 then
  redis.call('HINCRBY', KEYS[4], 'all:scheduled', admitted)
end
local text = table.concat(mask)
redis.call('SETBIT', KEYS[1], index, 1)
redis.call('HSET', KEYS[3], index, text)
return {0, text}
