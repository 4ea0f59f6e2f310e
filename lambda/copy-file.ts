import type { FileOutcome, JobFile } from '../schemas/events.js';
import { ColonyError, describeError } from '../schemas/errors.js';
import type { Destination } from './destinations/destination.js';
import { contentTypeFor } from './destinations/open-destination.js';
import type { OpenedBody } from './sources/http-source.js';

/** Where bytes come from: an HTTP origin or a bucket. */
export interface FileSource {
  open(url: string, options: { signal?: AbortSignal; timeoutMs?: number }): Promise<OpenedBody>;
}

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
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Copies one file, streaming, verified by the destination (byte count against the source's
 * Content-Length, MD5 sent with the upload). Transient faults are retried with exponential
 * backoff and full jitter; permanent ones (403, 404, an unsafe key) fail at once. Never throws:
 * every outcome is a FileOutcome, so a batch reports exactly which files failed.
 */
export async function copyFile(job: JobFile, o: CopyOptions): Promise<FileOutcome> {
  const base = { ordinal: job.ordinal, key: job.key };
  let attempt = 0;
  for (;;) {
    attempt++;
    try {
      const opened = await o.source.open(job.url, { timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}) });
      const receipt = await o.dest.put(job.key, opened.body, {
        size: opened.size,
        contentType: contentTypeFor(job.key),
        ...(o.signal ? { signal: o.signal } : {}),
      });
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
      if (!retryable || attempt >= o.attempts || o.signal?.aborted) {
        return {
          ...base,
          status: 'failed',
          attempts: attempt,
          reason: describeError(err).slice(0, 2000),
          code: err instanceof ColonyError ? err.code : 'E_UNKNOWN',
        };
      }
      const cap = Math.min(o.backoffMaxMs ?? 5000, (o.backoffBaseMs ?? 200) * 2 ** (attempt - 1));
      await sleep(Math.random() * cap);
    }
  }
}
