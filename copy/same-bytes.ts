import { createHash } from 'node:crypto';
import type { JobFile } from '../schemas/events.js';
import { KeyConflictError } from '../schemas/errors.js';
import type { FileSource, OpenOptions } from './sources/file-source.js';

/** What the destination key holds, as read from the file's first URL. */
export type Digest = { bytes: number; md5: string };

/**
 * Checks that every other URL of a file (`job.alsoAt`: another signed query, a failover copy)
 * serves the bytes that were copied from `job.url` (SPEC section 4: URLs that differ only in
 * their query are one file; only different bytes conflict). Each is read once and hashed, not
 * stored; a body longer than the copy stops being read at the first byte too many.
 *
 * @param known the size and MD5 of what the key holds, when the copy knows them.
 *
 * @throws KeyConflictError when one serves other bytes, naming both paths (never the query);
 *   the source's errors as they are (a transient one retries the copy).
 */
export async function assertSameBytes(
  job: JobFile,
  known: Digest | undefined,
  source: FileSource,
  o: Pick<OpenOptions, 'timeoutMs' | 'signal'>,
): Promise<void> {
  if (!job.alsoAt) return;
  // A file skipped as already there may have no recorded MD5: read it from its first URL then.
  const copied = known ?? (await digestOf(source, job.url, Number.POSITIVE_INFINITY, o))!;
  for (const url of job.alsoAt) {
    const other = await digestOf(source, url, copied.bytes, o);
    if (other === undefined || other.md5 !== copied.md5) {
      const size = other === undefined ? `more than ${copied.bytes}` : String(other.bytes);
      throw new KeyConflictError(
        `${job.key}: ${pathOf(job.url)} and ${pathOf(url)} name this key but serve different ` +
          `bytes (${copied.bytes} and ${size}); the destination can hold only one of them`,
      );
    }
  }
}

/** The MD5 and size of what `url` serves, or undefined as soon as it is longer than `limit`. */
async function digestOf(
  source: FileSource,
  url: string,
  limit: number,
  o: Pick<OpenOptions, 'timeoutMs' | 'signal'>,
): Promise<Digest | undefined> {
  const opened = await source.open(url, o);
  const { body } = opened;
  if (opened.size !== undefined && opened.size > limit) {
    body.destroy();
    return undefined;
  }
  const hash = createHash('md5');
  let bytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += buf.length;
      if (bytes > limit) return undefined;
      hash.update(buf);
    }
  } finally {
    if (!body.destroyed) body.destroy();
  }
  return { bytes, md5: hash.digest('hex') };
}

/** Origin and path with `?…` for a query: a signed query is a credential. */
function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
}
