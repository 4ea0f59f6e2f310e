import type { Readable } from 'node:stream';

export type OpenOptions = {
  signal?: AbortSignal;
  /** Time allowed for the response headers, and for each pause between body chunks. */
  timeoutMs?: number;
  /**
   * Bytes `start` to `end` (inclusive; to the end of the file when absent). The answer must be
   * partial content: a source that ignores the range fails with a SourceTransientError, so the
   * caller starts the whole file again instead of taking the wrong bytes.
   */
  range?: { start: number; end?: number };
  /**
   * An entity tag (as a source or colony stored it, quoted or not). When the source's current
   * ETag matches, no body is sent and the answer has `notModified: true`.
   */
  ifNoneMatch?: string;
};

export type OpenedBody = {
  /** The response body; it fails with a SourceTransientError if the transfer breaks off. */
  body: Readable;
  /** Content-Length (of the range, for a ranged read), when the source sent one. */
  size: number | undefined;
  /** The URL that answered, after redirects. */
  finalUrl?: string;
  /** The source's ETag for this version of the file, verbatim (quotes, W/ and all). */
  etag?: string;
  /** For a ranged read: the size of the whole file, from Content-Range. */
  totalSize?: number;
  /** The file still has the ETag given in `ifNoneMatch`: the body is empty. */
  notModified?: boolean;
};

/** Where bytes come from: an HTTP origin or a bucket. */
export interface FileSource {
  /**
   * Opens a file for reading.
   *
   * @throws SourcePermanentError for answers a retry won't change (404, 403, a bad URL).
   * @throws SourceTransientError for throttling, 5xx, network errors and timeouts.
   */
  open(url: string, options: OpenOptions): Promise<OpenedBody>;
  close(): Promise<void>;
}

/** `"abc"` from `abc`, `"abc"` or `W/"abc"` (a weak tag stays weak). */
export function quoteEtag(etag: string): string {
  return /^(W\/)?".*"$/.test(etag) ? etag : `"${etag}"`;
}

/** `abc` from `"abc"` or `W/"abc"`. */
export function unquoteEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** Bytes `a-b/total` of a Content-Range header, or undefined when it is not one. */
export function parseContentRange(
  value: string | undefined,
): { start: number; end: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}
