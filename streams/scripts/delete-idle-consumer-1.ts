/**
 * Removes a consumer from a group only if it holds nothing. XGROUP DELCONSUMER drops the
 * consumer's pending entries, so the check and the delete must be one step: a zombie that reads
 * between them would otherwise lose what it read.
 *
 * KEYS[1] stream   ARGV[1] group   ARGV[2] consumer
 *
 * Output: 0 when the consumer holds entries (it is kept), 1 otherwise (removed, or gone already).
 */
export const deleteIdleConsumer1 = `
local held = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #held > 0 then
  return 0
end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2]) >= 0 and 1 or 0
`;
