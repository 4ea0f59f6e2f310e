/**
 * Counts file results for one class exactly once. A bit per ordinal records that the file
 * reached a terminal state; a duplicate result finds the bit set and changes nothing. A file
 * that had failed and later arrives (a dead letter retried, a repair) is recounted from
 * `failed` to its new status. When the last file lands, the class becomes `transferred` or
 * `failed` and its revision goes up, which tells the caller to publish the outcome.
 *
 * KEYS[1] class meta hash   KEYS[2] done bitmap   KEYS[3] failures hash (ordinal -> JSON)
 * ARGV[1] now (ms)   ARGV[2] run of the results
 * ARGV[3] the results packed as "<ordinal>:<c|s|f>:<bytes>:<attempts>," repeated (one argument,
 *         not five per file: building and sending arguments is most of the caller's cost)
 * ARGV[4] JSON object ordinal -> { path, reason } of the failed ones
 *
 * Output: { code, counted, ignored } where code is 0 (ok), -1 (class not registered) or -2 (the
 * results are of an earlier run: nothing counted), counted the results that changed the counts,
 * ignored those with an ordinal outside the class.
 */
export const recordResults3 = `
local total = redis.call('HGET', KEYS[1], 'total')
if not total then
  return { -1, 0, 0 }
end
if redis.call('HGET', KEYS[1], 'run') ~= ARGV[2] then
  return { -2, 0, 0 }
end
total = tonumber(total)
local names = { c = 'copied', s = 'skipped', f = 'failed' }
local failures = nil
local counted, ignored = 0, 0
local add = { copied = 0, skipped = 0, failed = 0, bytes = 0, done = 0, retries = 0 }
for o, s, b, a in string.gmatch(ARGV[3], '(%d+):(%a):(%d+):(%d+),') do
  local ordinal = tonumber(o)
  local status = names[s]
  if ordinal >= total or not status then
    ignored = ignored + 1
  elseif redis.call('SETBIT', KEYS[2], ordinal, 1) == 0 then
    counted = counted + 1
    add.done = add.done + 1
    add.retries = add.retries + tonumber(a) - 1
    add[status] = add[status] + 1
    if status == 'failed' then
      failures = failures or cjson.decode(ARGV[4])
      redis.call('HSET', KEYS[3], o, cjson.encode(failures[o]))
    else
      add.bytes = add.bytes + tonumber(b)
    end
  elseif status ~= 'failed' and redis.call('HDEL', KEYS[3], o) == 1 then
    counted = counted + 1
    add.retries = add.retries + tonumber(a) - 1
    add.failed = add.failed - 1
    add[status] = add[status] + 1
    add.bytes = add.bytes + tonumber(b)
  end
end
if counted == 0 then
  return { 0, 0, ignored }
end
for field, n in pairs(add) do
  if n ~= 0 then
    redis.call('HINCRBY', KEYS[1], field, n)
  end
end
if tonumber(redis.call('HGET', KEYS[1], 'done')) == total then
  local failed = tonumber(redis.call('HGET', KEYS[1], 'failed'))
  redis.call('HSET', KEYS[1], 'status', failed == 0 and 'transferred' or 'failed',
    'finishedAt', ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'revision', 1)
end
return { 0, counted, ignored }
`;
