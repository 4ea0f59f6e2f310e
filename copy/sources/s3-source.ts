import { PassThrough, Readable } from 'node:stream';
import { GetObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ColonyError, SourcePermanentError, SourceTransientError } from '../../schemas/errors.js';
import type { S3Settings } from '../destinations/destination.js';
import { errorName, statusOf } from '../s3-errors.js';
import { createS3Client } from '../s3-client.js';
import {
  parseContentRange,
  quoteEtag,
  type FileSource,
  type OpenedBody,
  type OpenOptions,
} from './file-source.js';

export type S3SourceOptions = {
  settings?: S3Settings;
  /** Connect and socket-idle timeout. Default 30 s. */
  timeoutMs?: number;
  /** Sockets kept open to the store. Default 64. */
  connections?: number;
  /** Explicit credentials (tests, local stores); the SDK's default chain otherwise. */
  credentials?: S3ClientConfig['credentials'];
};

// Answers another attempt can fix, although some come with a 4xx status.
const TRANSIENT_CODES = new Set(
  `RequestTimeout RequestTimeTooSkewed SlowDown Throttling ThrottlingException
   TooManyRequestsException InternalError ServiceUnavailable`.split(/\s+/),
);

/**
 * Reads files from `s3://bucket/key` URLs (AWS S3 or the S3-compatible endpoint in the settings)
 * with GetObject: ranged where asked, conditional on an ETag for skip-existing.
 */
export class S3Source implements FileSource {
  readonly client: S3Client;

  constructor(options: S3SourceOptions = {}) {
    const timeout = options.timeoutMs ?? 30_000;
    this.client = createS3Client({
      settings: options.settings,
      credentials: options.credentials,
      requestHandler: {
        connectionTimeout: timeout,
        requestTimeout: timeout,
        httpAgent: { keepAlive: true, maxSockets: options.connections ?? 64 },
        httpsAgent: { keepAlive: true, maxSockets: options.connections ?? 64 },
      },
    });
  }

  /** GetObject; see {@link FileSource.open}. Messages name bucket and key, never a query. */
  async open(url: string, options: OpenOptions = {}): Promise<OpenedBody> {
    const { bucket, key } = parseS3Url(url);
    const where = `s3://${bucket}/${key}`;
    const range = options.range;
    let output;
    try {
      output = await this.client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}),
          ...(options.ifNoneMatch === undefined
            ? {}
            : { IfNoneMatch: quoteEtag(options.ifNoneMatch) }),
        }),
        { abortSignal: options.signal },
      );
    } catch (err) {
      if (
        options.ifNoneMatch !== undefined &&
        (statusOf(err) === 304 || errorName(err) === 'NotModified')
      ) {
        return { body: Readable.from([]), size: 0, finalUrl: where, notModified: true };
      }
      throw classify(where, err, options.signal);
    }
    const body = output.Body;
    if (!(body instanceof Readable)) {
      throw new SourceTransientError(`GET ${where}: the SDK returned no stream body`);
    }
    const etag = output.ETag;
    let totalSize: number | undefined;
    if (range) {
      const r = parseContentRange(output.ContentRange);
      if (!r || r.start !== range.start) {
        body.destroy();
        throw new SourceTransientError(
          `GET ${where}: asked for bytes ${range.start}- and got no matching Content-Range`,
        );
      }
      totalSize = r.total;
    }
    return {
      body: guard(body, where),
      size: output.ContentLength,
      finalUrl: where,
      ...(etag === undefined ? {} : { etag }),
      ...(totalSize === undefined ? {} : { totalSize }),
    };
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/**
 * Bucket and key of `s3://bucket/key`: the key is the URL's path, percent-decoded, without the
 * leading `/`; a query is ignored.
 *
 * @throws SourcePermanentError for anything else.
 */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/?#]+)\/([^?#]+)/i.exec(url);
  let key: string | undefined;
  try {
    key = m?.[2] === undefined ? undefined : decodeURIComponent(m[2]);
  } catch {
    key = undefined;
  }
  if (!m?.[1] || !key)
    throw new SourcePermanentError(`not an s3://bucket/key URL: ${url.split('?')[0]}`);
  return { bucket: m[1], key };
}

/** A body error mid-transfer becomes a SourceTransientError. */
function guard(body: Readable, where: string): Readable {
  const out = new PassThrough();
  body.on('error', (err) =>
    out.destroy(
      err instanceof ColonyError
        ? err
        : new SourceTransientError(`GET ${where}: transfer broke off`, err),
    ),
  );
  out.on('close', () => {
    if (!body.destroyed) body.destroy();
  });
  body.pipe(out);
  return out;
}

function classify(where: string, err: unknown, signal: AbortSignal | undefined): unknown {
  if (err instanceof ColonyError || signal?.aborted) return err;
  const status = statusOf(err);
  const name = errorName(err) ?? 'Error';
  const detail = status === undefined ? name : `${name} (HTTP ${status})`;
  const transient =
    TRANSIENT_CODES.has(name) ||
    status === undefined ||
    status >= 500 ||
    status === 429 ||
    status === 408;
  return transient
    ? new SourceTransientError(`GET ${where}: ${detail}`, err)
    : new SourcePermanentError(`GET ${where}: ${detail}`);
}
