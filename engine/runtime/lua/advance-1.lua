-- advance: let a progression step through only while it does not move its object backwards.
--
-- Each object's highest step sent so far is kept; a step below it is refused (a later stage was
-- sent already, so sending this one would move the object back), the same step again or a later
-- one is let through and becomes the highest.
--
-- KEYS[1]  progress hash (object key -> highest step ordinal sent)
-- ARGV[1..] pairs: object key, step ordinal
-- Returns  one flag per pair, in order: 1 let through, 0 refused.

local allowed = {}
for i = 1, #ARGV, 2 do
  local step = tonumber(ARGV[i + 1])
  local highest = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if step >= highest then
    redis.call('HSET', KEYS[1], ARGV[i], step)
    allowed[#allowed + 1] = 1
  else
    allowed[#allowed + 1] = 0
  end
end
return allowed
