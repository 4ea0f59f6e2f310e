import type { Readable } from 'node:stream';

/** What a destination reports after a verified write. */
export type WriteReceipt = {
  /** Bytes written (and checked against the source's announced size when known). */
  bytes: number;
  /** Hex MD5 of the bytes written; sent with the upload where the store supports it. */
  md5: string;
  /** The store's ETag or checksum for the object, when it has one. */
  etag?: string;
};

export type ObjectInfo = { size: number; etag?: string };

export type PutOptions = {
  /** The size the source announced (Content-Length); a body of another size is rejected. */
  size: number | undefined;
  contentType?: string;
  signal?: AbortSignal;
};

/**
 * Where copies go. Implementations write atomically (a reader never sees a partial object),
 * verify the byte count before committing, and are safe to call twice for the same key.
 */
export interface Destination {
  /** The destination URL it was opened with, e.g. `file:///data/out` or `s3://bucket/prefix`. */
  readonly url: string;
  /** Streams `body` to `key` (relative to the destination prefix) and verifies it. */
  put(key: string, body: Readable, options: PutOptions): Promise<WriteReceipt>;
  /** Size (and ETag) of an existing object, or undefined when there is none. */
  head(key: string): Promise<ObjectInfo | undefined>;
  close(): Promise<void>;
}

/** S3 client settings from the configuration (COLONY_S3_ENDPOINT, COLONY_S3_FORCE_PATH_STYLE). */
export type S3Settings = { endpoint?: string | undefined; forcePathStyle?: boolean };
