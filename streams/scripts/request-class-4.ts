/**
 * Requests a class, idempotently per (class, version). The same version again changes nothing
 * and answers with the first request's event id. A new version of a finished class starts a new
 * run: counts and per-file state are cleared and `run` goes up, so results of the old run that
 * arrive late are told apart and ignored. A new version while a run is in flight is refused.
 *
 * KEYS[1] class meta hash   KEYS[2] done bitmap   KEYS[3] failures hash
 * KEYS[4] events hash (version -> event id)
 * ARGV[1] version ('' when none)   ARGV[2] event id   ARGV[3..] field, value pairs of the class
 *
 * Output: { code, status, eventId, run } with code 0 duplicate, 1 new run, 2 another version is
 * in flight; status, eventId and run are the class's own after the call.
 */
export const requestClass4 = `
local status = redis.call('HGET', KEYS[1], 'status')
local first = redis.call('HGET', KEYS[4], ARGV[1])
if first then
  return { 0, status or '', first, tonumber(redis.call('HGET', KEYS[1], 'run') or '0') }
end
if status and status ~= 'transferred' and status ~= 'failed' then
  return { 2, status, redis.call('HGET', KEYS[1], 'eventId') or '', tonumber(redis.call('HGET', KEYS[1], 'run')) }
end
if status then
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('HDEL', KEYS[1], 'total', 'crawled', 'crawledAt', 'done', 'copied', 'skipped', 'failed',
    'bytes', 'retries', 'finishedAt')
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
local run = redis.call('HINCRBY', KEYS[1], 'run', 1)
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
return { 1, 'queued', ARGV[2], run }
`;
