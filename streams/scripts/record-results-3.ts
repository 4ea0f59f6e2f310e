/**
 * Counts file results for one class exactly once. A bit per ordinal records that the file
 * reached a terminal state; a duplicate result finds the bit set and changes nothing. A file
 * that had failed and later arrives (a dead letter retried, a repair) is recounted from
 * `failed` to its new status. When the last file lands, the class becomes `transferred` or
 * `failed` and its revision goes up, which tells the caller to publish the outcome.
 *
 * KEYS[1] class meta hash   KEYS[2] done bitmap   KEYS[3] failures hash (ordinal -> JSON)
 * ARGV[1] now (ms), then for each result 5 values: ordinal, status, bytes, path, reason
 *
 * Output: { code, counted, ignored } where code is 0 (ok) or -1 (class not registered), counted
 * the results that changed the counts, ignored those with an ordinal outside the class.
 */
export const recordResults3 = `
local total = redis.call('HGET', KEYS[1], 'total')
if not total then
  return { -1, 0, 0 }
end
total = tonumber(total)
local counted, ignored = 0, 0
for i = 2, #ARGV, 5 do
  local ordinal = tonumber(ARGV[i])
  local status = ARGV[i + 1]
  local bytes = tonumber(ARGV[i + 2])
  if ordinal >= total then
    ignored = ignored + 1
  elseif redis.call('SETBIT', KEYS[2], ordinal, 1) == 0 then
    counted = counted + 1
    redis.call('HINCRBY', KEYS[1], 'done', 1)
    redis.call('HINCRBY', KEYS[1], status, 1)
    if status == 'failed' then
      redis.call('HSET', KEYS[3], ordinal, cjson.encode({ path = ARGV[i + 3], reason = ARGV[i + 4] }))
    else
      redis.call('HINCRBY', KEYS[1], 'bytes', bytes)
    end
  elseif status ~= 'failed' and redis.call('HDEL', KEYS[3], ordinal) == 1 then
    counted = counted + 1
    redis.call('HINCRBY', KEYS[1], 'failed', -1)
    redis.call('HINCRBY', KEYS[1], status, 1)
    redis.call('HINCRBY', KEYS[1], 'bytes', bytes)
  end
end
if counted > 0 and tonumber(redis.call('HGET', KEYS[1], 'done')) == total then
  local failed = tonumber(redis.call('HGET', KEYS[1], 'failed'))
  redis.call('HSET', KEYS[1], 'status', failed == 0 and 'transferred' or 'failed',
    'finishedAt', ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'revision', 1)
end
return { 0, counted, ignored }
`;
