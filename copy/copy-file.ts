import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FileOutcome, JobFile } from '../schemas/events.js';
import {
  ColonyError,
  ErrorCode,
  SizeMismatchError,
  SourceTransientError,
  describeError,
} from '../schemas/errors.js';
import { COPY_BACKOFF, backoffDelay, retryAfterOf, sleep } from './backoff.js';
import type { Destination, WriteReceipt } from './destinations/destination.js';
import { contentTypeFor } from './destinations/open-destination.js';
import { copyInParts, type PartSettings } from './multipart.js';
import { assertSameBytes } from './same-bytes.js';
import type { ExistingObject, ExistingObjects } from './skip-existing.js';
import type { FileSource, OpenedBody } from './sources/file-source.js';

export type { FileSource } from './sources/file-source.js';

export type CopyOptions = {
  source: FileSource;
  dest: Destination;
  /** Copy attempts before the file is failed. */
  attempts: number;
  timeoutMs: number;
  /** First backoff; doubled per attempt, with full jitter. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  signal?: AbortSignal;
  /** Cache-Control stored with each object (COLONY_CACHE_CONTROL). */
  cacheControl?: string;
  /** Files over the threshold go in parts where the destination has startMultipart (S3). */
  multipart?: PartSettings;
  /** Skip-existing: what the destination holds for this batch (see ExistingObjects). */
  existing?: ExistingObjects;
};

/** The largest file compared by download when its source gives no usable checksum. */
const DEFAULT_COMPARE_LIMIT = 64 * 1024 * 1024;

type Done =
  | { status: 'copied'; receipt: WriteReceipt }
  | { status: 'skipped'; bytes: number; md5: string | undefined };

/**
 * Copies one file, streaming, verified by the destination (byte count against the source's
 * Content-Length, MD5 sent with the upload). Transient faults are retried with exponential
 * backoff and full jitter; permanent ones (403, 404, an unsafe key) fail at once. A file named by
 * several URLs (`job.alsoAt`) is copied from the first, then each other must serve the same bytes
 * (see assertSameBytes), or it fails as a key conflict. Never throws:
 * every outcome is a FileOutcome, so a batch reports exactly which files failed.
 */
export async function copyFile(job: JobFile, o: CopyOptions): Promise<FileOutcome> {
  const base = { ordinal: job.ordinal, key: job.key };
  let attempt = 0;
  for (;;) {
    attempt++;
    try {
      o.signal?.throwIfAborted();
      const done = await copyOnce(job, o);
      const digest =
        done.status === 'copied'
          ? { bytes: done.receipt.bytes, md5: done.receipt.md5 }
          : done.md5 === undefined
            ? undefined
            : { bytes: done.bytes, md5: done.md5 };
      await assertSameBytes(job, digest, o.source, {
        timeoutMs: o.timeoutMs,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      if (done.status === 'skipped') {
        return { ...base, status: 'skipped', attempts: attempt, bytes: done.bytes };
      }
      const { receipt } = done;
      return {
        ...base,
        status: 'copied',
        attempts: attempt,
        bytes: receipt.bytes,
        md5: receipt.md5,
        ...(receipt.etag ? { etag: receipt.etag } : {}),
      };
    } catch (err) {
      const retryable = err instanceof ColonyError ? err.retryable : true;
      if (o.signal?.aborted) {
        return {
          ...base,
          status: 'failed',
          attempts: attempt,
          reason: `stopped before the copy finished: ${describeError(o.signal.reason)}`.slice(
            0,
            2000,
          ),
          code: ErrorCode.Aborted,
        };
      }
      if (!retryable || attempt >= o.attempts) {
        return {
          ...base,
          status: 'failed',
          attempts: attempt,
          reason: describeError(err).slice(0, 2000),
          code: err instanceof ColonyError ? err.code : ErrorCode.Unknown,
        };
      }
      await sleep(backoff(o, attempt, retryAfterOf(err)));
    }
  }
}

function backoff(o: CopyOptions, attempt: number, retryAfterMs?: number): number {
  return backoffDelay(
    attempt,
    {
      baseMs: o.backoffBaseMs ?? COPY_BACKOFF.baseMs,
      maxMs: o.backoffMaxMs ?? COPY_BACKOFF.maxMs,
      maxRetryAfterMs: COPY_BACKOFF.maxRetryAfterMs,
    },
    retryAfterMs,
  );
}

/**
 * One attempt. With skip-existing, a file already at the destination is asked for only if its
 * ETag differs from the copy's checksum (If-None-Match: a 304 means skipped, no bytes move);
 * a source whose ETag is not an MD5 sends the file, which is compared before any upload.
 */
async function copyOnce(job: JobFile, o: CopyOptions): Promise<Done> {
  // A failed lookup only costs the skip: the file is copied again, which is idempotent.
  const existing = o.existing ? await o.existing.lookup(job.key).catch(() => undefined) : undefined;
  const match = existing?.sourceEtag ?? existing?.md5;
  const opened = await o.source.open(job.url, {
    timeoutMs: o.timeoutMs,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(match === undefined ? {} : { ifNoneMatch: match }),
  });
  if (opened.notModified) {
    if (!existing) throw new SourceTransientError(`${job.key}: unexpected 304 Not Modified`);
    return { status: 'skipped', bytes: existing.size, md5: existing.md5 };
  }
  const contentType = contentTypeFor(job.key);
  const size = opened.size;
  const parts = o.multipart;
  if (parts && size !== undefined && size > parts.thresholdBytes && o.dest.startMultipart) {
    return { status: 'copied', receipt: await copyLarge(job, o, opened, size, parts) };
  }
  let body = opened.body;
  const compareLimit = parts?.thresholdBytes ?? DEFAULT_COMPARE_LIMIT;
  if (existing?.md5 !== undefined && size === existing.size && size <= compareLimit) {
    const same = await sameContent(body, existing, o.signal);
    if (same.equal) return { status: 'skipped', bytes: existing.size, md5: existing.md5 };
    body = Readable.from([same.data]);
  }
  const receipt = await o.dest.put(job.key, body, {
    size,
    contentType,
    ...(o.cacheControl ? { cacheControl: o.cacheControl } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return { status: 'copied', receipt };
}

async function copyLarge(
  job: JobFile,
  o: CopyOptions,
  opened: OpenedBody,
  size: number,
  parts: PartSettings,
): Promise<WriteReceipt> {
  let upload;
  try {
    upload = await o.dest.startMultipart!(job.key, {
      contentType: contentTypeFor(job.key),
      ...(o.cacheControl ? { cacheControl: o.cacheControl } : {}),
      ...(opened.etag ? { sourceEtag: opened.etag } : {}),
    });
  } catch (err) {
    opened.body.destroy();
    throw err;
  }
  try {
    return await copyInParts(
      {
        url: job.url,
        opened,
        size,
        source: o.source,
        upload,
        parts,
        attempts: o.attempts,
        timeoutMs: o.timeoutMs,
        backoffMs: (attempt) => backoff(o, attempt),
        ...(o.signal ? { signal: o.signal } : {}),
      },
      async () => (await o.dest.head(job.key))?.size,
    );
  } catch (err) {
    await upload.abort();
    throw err;
  }
}

/** Reads the whole body (of the size the source announced) and compares its MD5. */
async function sameContent(
  body: Readable,
  existing: ExistingObject,
  signal: AbortSignal | undefined,
): Promise<{ equal: boolean; data: Buffer }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      signal?.throwIfAborted();
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += buf.length;
      if (bytes > existing.size) throw new SizeMismatchError(existing.size, bytes);
      chunks.push(buf);
    }
  } catch (err) {
    if (!body.destroyed) body.destroy();
    throw err;
  }
  if (bytes !== existing.size) throw new SizeMismatchError(existing.size, bytes);
  const data = Buffer.concat(chunks, bytes);
  return { equal: createHash('md5').update(data).digest('hex') === existing.md5, data };
}
