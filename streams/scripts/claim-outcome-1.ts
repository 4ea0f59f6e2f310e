/**
 * Claims the right to publish a class's outcome for its current revision, so that two
 * aggregators finishing the same class at once publish it once. The claim is a lease: if its
 * holder dies before marking the outcome published, the lease lapses and the redelivered results
 * let another aggregator publish it.
 *
 * KEYS[1] class meta hash
 * ARGV[1] now (ms)   ARGV[2] lease (ms)
 *
 * Output: the revision claimed, or 0 when there is nothing to publish or another holds the lease.
 */
export const claimOutcome1 = `
local revision = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
local published = tonumber(redis.call('HGET', KEYS[1], 'published') or '0')
if revision == 0 or published >= revision then
  return 0
end
local claimed = tonumber(redis.call('HGET', KEYS[1], 'publishing') or '0')
local claimedAt = tonumber(redis.call('HGET', KEYS[1], 'publishingAt') or '0')
if claimed == revision and tonumber(ARGV[1]) - claimedAt < tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], 'publishing', revision, 'publishingAt', ARGV[1])
return revision
`;
