/**
 * Fixes the number of files of a class before any of its jobs is published, so that the
 * aggregator knows when the last one lands. A re-crawl (a redelivered class entry) keeps the
 * first count: ordinals are stable, and results already counted stay counted.
 *
 * KEYS[1] class meta hash
 * ARGV[1] total files   ARGV[2] now (ms)
 *
 * Output: the class's total (the existing one when it was already registered).
 */
export const registerCrawl1 = `
local existing = redis.call('HGET', KEYS[1], 'total')
if existing then
  return tonumber(existing)
end
-- revision is left alone: it counts outcomes across runs, so a new run's outcome is a new one.
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'done', 0, 'copied', 0, 'skipped', 0,
  'failed', 0, 'bytes', 0, 'status', 'transferring', 'crawledAt', ARGV[2])
return tonumber(ARGV[1])
`;
