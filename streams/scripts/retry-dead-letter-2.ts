/**
 * Requeues a dead letter: its original entry is appended again to the stream it came from, as a
 * new entry with a fresh delivery count, and the dead letter is removed, in one step, so a retry
 * neither loses the entry nor leaves it in both places.
 *
 * KEYS[1] dead-letter stream   KEYS[2] source stream (same hash slot)
 * ARGV[1] dead-letter entry id   ARGV[2..] the original entry's fields
 *
 * Output: the id of the requeued entry, or 0 when the dead letter is gone (retried or purged).
 */
export const retryDeadLetter2 = `
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then
  return 0
end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], ARGV[1])
return id
`;
