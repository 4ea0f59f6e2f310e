/**
 * Moves one entry to a dead-letter stream, atomically: the entry is appended to `dead` and acked
 * on its source stream in one step, so it can neither vanish nor be dead-lettered twice. The
 * append comes first: Lua does not undo earlier writes when a later command fails.
 *
 * KEYS[1] source stream   KEYS[2] dead-letter stream (same hash slot)
 * ARGV[1] group           ARGV[2] entry id           ARGV[3..] fields of the dead-letter entry
 *
 * Output: the id of the dead-letter entry, or 0 when the entry was no longer pending (another
 * consumer acked it already), in which case nothing is written.
 */
export const deadLetter2 = `
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 then
  return 0
end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return id
`;
