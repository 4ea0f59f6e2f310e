/**
 * Creates a class's state the first time it is requested; a second request changes nothing.
 *
 * KEYS[1] class meta hash
 * ARGV    field, value pairs of the new class
 *
 * Output: { created (1 or 0), status, eventId } where status and eventId are the class's own
 * (the first request's, when it already existed).
 */
export const requestClass1 = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV))
  return { 1, redis.call('HGET', KEYS[1], 'status'), redis.call('HGET', KEYS[1], 'eventId') }
end
return { 0, redis.call('HGET', KEYS[1], 'status') or '', redis.call('HGET', KEYS[1], 'eventId') or '' }
`;
