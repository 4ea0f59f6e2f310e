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

export type ObjectInfo = {
  size: number;
  etag?: string;
  /** Hex MD5 of the content, where the store records it (colony's x-amz-meta-colony-md5). */
  md5?: string;
  /** The source's ETag colony recorded when it copied the object in parts. */
  sourceEtag?: string;
};

/** One object found by {@link Destination.list}: its key relative to the destination prefix. */
export type ListedObject = { key: string; size: number; etag?: string };

export type ListOptions = {
  /**
   * True (the default): every object whose key starts with the prefix, however deep. False: only
   * those with no further `/` after the prefix, like one directory (S3 Delimiter `/`).
   */
  recursive?: boolean;
};

export type PutOptions = {
  /** The size the source announced (Content-Length); a body of another size is rejected. */
  size: number | undefined;
  contentType?: string;
  /** Cache-Control to store with the object (COLONY_CACHE_CONTROL); stores without headers ignore it. */
  cacheControl?: string;
  signal?: AbortSignal;
};

export type MultipartOptions = {
  contentType?: string;
  cacheControl?: string;
  /** The source's ETag, recorded so that a later run can tell the object is the same version. */
  sourceEtag?: string;
};

/** One upload in parts; see {@link Destination.startMultipart}. */
export interface MultipartUpload {
  /** Uploads part `number` (1-based) with its MD5, so the store rejects a corrupted part; returns its ETag. */
  uploadPart(number: number, data: Buffer, md5: Buffer, signal?: AbortSignal): Promise<string>;
  /** Assembles the parts into the object and returns its ETag. */
  complete(
    parts: readonly { number: number; etag: string }[],
    signal?: AbortSignal,
  ): Promise<string | undefined>;
  /** Drops the parts; best effort, never throws. */
  abort(): Promise<void>;
}

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
  /**
   * Objects whose key (relative to the destination prefix) starts with `prefix`, in pages: one
   * request per page of up to 1,000 objects, not one per file. Order is unspecified.
   */
  list(prefix: string, options?: ListOptions): AsyncIterable<ListedObject>;
  /** The content of the object at `key` as a stream, or undefined when there is none. */
  get(key: string): Promise<Readable | undefined>;
  /**
   * Starts an upload in parts, for stores whose put holds a whole body in memory (S3). Absent
   * where put streams any size (file://): large files go through put there.
   */
  startMultipart?(key: string, options: MultipartOptions): Promise<MultipartUpload>;
  /** Deletes the object at `key`; nothing happens when there is none. */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** S3 client settings from the configuration (COLONY_S3_ENDPOINT, COLONY_S3_FORCE_PATH_STYLE). */
export type S3Settings = { endpoint?: string | undefined; forcePathStyle?: boolean };
