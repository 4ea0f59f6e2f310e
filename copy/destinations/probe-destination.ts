import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Destination } from './destination.js';

/** Where probes go: below the reserved `_colony/` prefix, never among the copies. */
export const PROBE_PREFIX = '_colony/probe/';

/**
 * Checks that a destination takes writes, the way a copy writes: puts a small object under
 * {@link PROBE_PREFIX} and deletes it again. A destination that cannot be written (a regular file
 * as a file:// root, a directory under procfs, S3 without credentials, a bucket that answers 403)
 * throws its error at once, instead of failing every file of a class one by one.
 *
 * @throws the destination's error (a DestinationError naming the object and the cause), or the
 *   abort reason when `timeoutMs` passes first.
 */
export async function probeDestination(dest: Destination, timeoutMs = 15_000): Promise<void> {
  const key = `${PROBE_PREFIX}${Date.now()}-${randomBytes(4).toString('hex')}`;
  const body = Buffer.from('colony write probe: safe to delete\n');
  const signal = AbortSignal.timeout(timeoutMs);
  await dest.put(key, Readable.from([body]), {
    size: body.length,
    contentType: 'text/plain',
    signal,
  });
  await dest.delete(key);
}
