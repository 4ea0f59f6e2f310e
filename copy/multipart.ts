import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  ColonyError,
  DestinationError,
  SizeMismatchError,
  SourceTransientError,
} from '../schemas/errors.js';
import type { MultipartUpload, WriteReceipt } from './destinations/destination.js';
import type { FileSource, OpenedBody } from './sources/file-source.js';
import { sleep } from './backoff.js';

export type PartSettings = {
  /** Files larger than this are copied in parts. */
  thresholdBytes: number;
  /** Size of each part but the last (raised when a file would need more than 10,000 parts). */
  partBytes: number;
  /** Parts uploading at once per file. Default 4. */
  concurrency?: number;
};

export type CopyInPartsOptions = {
  url: string;
  /** The file, opened: its body is read part by part. */
  opened: OpenedBody;
  size: number;
  source: FileSource;
  upload: MultipartUpload;
  parts: PartSettings;
  /** Tries of each part upload, and reads resumed after the source broke off. */
  attempts: number;
  timeoutMs: number;
  backoffMs(attempt: number): number;
  signal?: AbortSignal;
};

/** S3 allows at most this many parts in one upload. */
const MAX_PARTS = 10_000;

/**
 * Copies one large file into a multipart upload without ever holding more than a few parts in
 * memory: the body is cut into parts as it arrives (each hashed, and sent with its Content-MD5,
 * a few uploading at once), a read that breaks off resumes where it stopped with a ranged GET
 * of the same version, and a part that fails is sent again. The object is verified (byte count,
 * multipart ETag, size on a HEAD afterwards) before the receipt is returned. The caller aborts
 * the upload when this throws.
 */
export async function copyInParts(
  o: CopyInPartsOptions,
  verify: () => Promise<number | undefined>,
): Promise<WriteReceipt> {
  const partSize = Math.max(o.parts.partBytes, Math.ceil(o.size / MAX_PARTS));
  const count = Math.max(1, Math.ceil(o.size / partSize));
  const concurrency = o.parts.concurrency ?? 4;
  const reader = new PartReader(o);
  const whole = createHash('md5');
  const digests: Buffer[] = [];
  const done: { number: number; etag: string }[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  try {
    for (let number = 1; number <= count; number++) {
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      if (failure) throw failure.err;
      const data = await reader.read(Math.min(partSize, o.size - (number - 1) * partSize));
      whole.update(data);
      const md5 = createHash('md5').update(data).digest();
      digests[number - 1] = md5;
      const task: Promise<void> = uploadPart(o, number, data, md5).then(
        (etag) => void done.push({ number, etag }),
        (err: unknown) => void (failure ??= { err }),
      );
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
    }
    await Promise.all(inFlight);
    if (failure) throw failure.err;
    await reader.expectEnd();
  } finally {
    reader.close();
  }

  const etag = await o.upload.complete(done, o.signal);
  const md5 = whole.digest('hex');
  const partsEtag = `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${count}`;
  // S3 answers `<md5 of the part md5s>-<parts>`; some compatible stores the whole file's MD5.
  if (etag !== undefined && /^[0-9a-f]{32}(-\d+)?$/i.test(etag)) {
    const expected = etag.includes('-') ? partsEtag : md5;
    if (etag.toLowerCase() !== expected) {
      throw new DestinationError(
        `multipart upload of ${o.url.split('?')[0]}: ETag ${etag}, expected ${expected}`,
      );
    }
  }
  const stored = await verify();
  if (stored !== o.size) throw new SizeMismatchError(o.size, stored ?? 0);
  return etag === undefined ? { bytes: o.size, md5 } : { bytes: o.size, md5, etag };
}

/** One part, tried up to `attempts` times while the failure is one that may pass. */
async function uploadPart(
  o: CopyInPartsOptions,
  number: number,
  data: Buffer,
  md5: Buffer,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await o.upload.uploadPart(number, data, md5, o.signal);
    } catch (err) {
      const retryable = err instanceof ColonyError ? err.retryable : true;
      if (!retryable || attempt >= o.attempts || o.signal?.aborted) throw err;
      await sleep(o.backoffMs(attempt));
    }
  }
}

/** The source changed while it was being copied: the whole file starts again. */
class SourceChangedError extends SourceTransientError {}

/** Reads a body in exact-size parts, resuming with a ranged read when the transfer breaks off. */
class PartReader {
  private body: Readable;
  private iterator: AsyncIterator<Buffer | string>;
  private leftover: Buffer | undefined;
  /** Bytes handed out so far: where a resumed read starts. */
  private offset = 0;
  private resumes = 0;
  private readonly etag: string | undefined;

  constructor(private readonly o: CopyInPartsOptions) {
    this.body = o.opened.body;
    this.iterator = this.body[Symbol.asyncIterator]();
    this.etag = o.opened.etag;
  }

  async read(length: number): Promise<Buffer> {
    let resume = false;
    for (;;) {
      try {
        if (resume) await this.reopen();
        return await this.take(length);
      } catch (err) {
        const retryable = err instanceof ColonyError ? err.retryable : true;
        if (err instanceof SourceChangedError || !retryable || this.o.signal?.aborted) throw err;
        if (++this.resumes >= this.o.attempts) throw err;
        await sleep(this.o.backoffMs(this.resumes));
        resume = true;
      }
    }
  }

  /** Fails when the body holds more than the announced size. */
  async expectEnd(): Promise<void> {
    let extra = this.leftover?.length ?? 0;
    while (extra === 0) {
      const next = await this.iterator.next();
      if (next.done) break;
      extra += next.value.length;
    }
    if (extra > 0) throw new SizeMismatchError(this.o.size, this.o.size + extra);
  }

  close(): void {
    if (!this.body.destroyed) this.body.destroy();
  }

  private async take(length: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let got = 0;
    while (got < length) {
      let chunk: Buffer;
      if (this.leftover) {
        chunk = this.leftover;
        this.leftover = undefined;
      } else {
        const next = await this.iterator.next();
        if (next.done) throw new SizeMismatchError(this.o.size, this.offset + got);
        chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      }
      const need = length - got;
      if (chunk.length > need) {
        this.leftover = chunk.subarray(need);
        chunk = chunk.subarray(0, need);
      }
      chunks.push(chunk);
      got += chunk.length;
    }
    this.offset += length;
    return Buffer.concat(chunks, length);
  }

  /** A ranged read from the first byte not handed out, of the same version of the file. */
  private async reopen(): Promise<void> {
    this.close();
    this.leftover = undefined;
    const opened = await this.o.source.open(this.o.url, {
      range: { start: this.offset },
      timeoutMs: this.o.timeoutMs,
      ...(this.o.signal ? { signal: this.o.signal } : {}),
    });
    this.body = opened.body;
    this.iterator = this.body[Symbol.asyncIterator]();
    const changed =
      (opened.totalSize !== undefined && opened.totalSize !== this.o.size) ||
      (this.etag !== undefined && opened.etag !== undefined && opened.etag !== this.etag);
    if (changed) {
      this.close();
      throw new SourceChangedError(`${this.o.url.split('?')[0]} changed while it was being copied`);
    }
  }
}
