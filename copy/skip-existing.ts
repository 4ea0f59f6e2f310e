import { createHash } from 'node:crypto';
import type { JobFile } from '../schemas/events.js';
import type { Destination, ListedObject } from './destinations/destination.js';

/**
 * An object already at the destination, with what a copy must match to be `skipped`: the size,
 * and the MD5 of its bytes or the ETag its source had when colony copied it in parts.
 */
export type ExistingObject = { size: number; md5?: string; sourceEtag?: string };

/** Most objects one batch lists before it asks about its remaining keys one by one. */
export const DEFAULT_MAX_LISTED = 10_000;

const PLAIN_MD5 = /^[0-9a-f]{32}$/i;

/**
 * What the destination holds for the keys of one batch, from one listing of the directory the
 * keys share (ListObjectsV2 on S3, readdir and stat on file://) instead of one request per file.
 *
 * The listing gives sizes, and ETags on S3: the ETag of a single-part upload is the MD5 of the
 * bytes. What it cannot tell is asked per key, and only for the keys of the batch that exist:
 * a HEAD for an object uploaded in parts (colony's x-amz-meta-colony-md5 and
 * x-amz-meta-colony-source-etag), the hash of the file on a store without checksums (file://).
 */
export class ExistingObjects {
  private constructor(
    private readonly dest: Destination,
    private readonly listed: ReadonlyMap<string, ListedObject>,
    /** False when the listing stopped at its limit: keys not seen are then asked about one by one. */
    private readonly complete: boolean,
  ) {}

  /**
   * Lists the destination once for a batch.
   *
   * @throws what the destination's list throws; the caller then copies without skipping.
   */
  static async list(
    dest: Destination,
    jobs: readonly JobFile[],
    maxListed = DEFAULT_MAX_LISTED,
  ): Promise<ExistingObjects> {
    const wanted = new Set(jobs.map((j) => j.key));
    const listed = new Map<string, ListedObject>();
    let seen = 0;
    let complete = true;
    for await (const object of dest.list(sharedDirectory([...wanted]))) {
      if (wanted.has(object.key)) listed.set(object.key, object);
      if (++seen >= maxListed && listed.size < wanted.size) {
        complete = false;
        break;
      }
    }
    return new ExistingObjects(dest, listed, complete);
  }

  /** The object at `key` with its checksum, or undefined when there is none. */
  async lookup(key: string): Promise<ExistingObject | undefined> {
    let object: { size: number; etag?: string } | undefined = this.listed.get(key);
    if (!object && !this.complete) object = await this.dest.head(key);
    if (!object) return undefined;
    if (object.etag !== undefined && PLAIN_MD5.test(object.etag)) {
      return { size: object.size, md5: object.etag.toLowerCase() };
    }
    if (object.etag !== undefined) {
      // An upload in parts (ETag `<md5 of part md5s>-<n>`) or an encrypted object: colony's
      // metadata says what it was.
      const info = await this.dest.head(key);
      if (!info) return undefined;
      return {
        size: info.size,
        ...(info.md5 ? { md5: info.md5 } : {}),
        ...(info.sourceEtag ? { sourceEtag: info.sourceEtag } : {}),
      };
    }
    const body = await this.dest.get(key);
    if (!body) return undefined;
    const hash = createHash('md5');
    for await (const chunk of body as AsyncIterable<Buffer>) hash.update(chunk);
    return { size: object.size, md5: hash.digest('hex') };
  }
}

/** The directory part (up to and including the last `/`) that every key starts with. */
export function sharedDirectory(keys: readonly string[]): string {
  if (keys.length === 0) return '';
  let prefix = keys[0]!;
  for (const key of keys) {
    let i = 0;
    while (i < prefix.length && i < key.length && prefix[i] === key[i]) i++;
    prefix = prefix.slice(0, i);
  }
  return prefix.slice(0, prefix.lastIndexOf('/') + 1);
}
