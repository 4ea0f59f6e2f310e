import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandOutput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { DestinationError, SizeMismatchError } from '../../schemas/errors.js';
import { classifyS3Error, errorName, statusOf, unquote } from '../s3-errors.js';
import { createS3Client } from '../s3-client.js';
import { joinDestKey } from './dest-key.js';
import { S3MultipartUpload } from './s3-multipart.js';
import type {
  Destination,
  ListedObject,
  MultipartOptions,
  MultipartUpload,
  ListOptions,
  ObjectInfo,
  PutOptions,
  S3Settings,
  WriteReceipt,
} from './destination.js';

export type S3DestinationOptions = {
  /** The URL it was opened with, e.g. `s3://bucket/prefix`. */
  url: string;
  bucket: string;
  /** Key prefix below the bucket, without leading or trailing `/`; may be empty. */
  prefix: string;
  settings?: S3Settings;
  /**
   * Bodies larger than this are refused by put (copies over the multipart threshold go through
   * startMultipart instead). Default 512 MiB.
   */
  maxSinglePutBytes?: number;
  /** Explicit credentials (tests, local stores); the SDK's default chain otherwise. */
  credentials?: S3ClientConfig['credentials'];
};

const DEFAULT_MAX_SINGLE_PUT_BYTES = 512 * 1024 * 1024;
/** User metadata colony writes (x-amz-meta-colony-md5, x-amz-meta-colony-source-etag). */
const MD5_METADATA = 'colony-md5';
const SOURCE_ETAG_METADATA = 'colony-source-etag';

/**
 * Writes copies to an S3 bucket or an S3-compatible store (`s3://bucket/prefix`).
 *
 * Each body is buffered once, counted, hashed and sent as a single PutObject with Content-MD5
 * and Content-Length, so the store rejects a body that was corrupted on the way. The client
 * computes the SDK's flexible checksums only where an operation requires them: by default the
 * SDK sends streamed bodies aws-chunked with a trailing checksum, which S3-compatible stores
 * such as s3rver store framing and all (43 to 45 bytes too long) without an error.
 */
export class S3Destination implements Destination {
  readonly url: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly maxSinglePutBytes: number;

  constructor(options: S3DestinationOptions) {
    this.url = options.url;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.maxSinglePutBytes = options.maxSinglePutBytes ?? DEFAULT_MAX_SINGLE_PUT_BYTES;
    this.client = createS3Client({ settings: options.settings, credentials: options.credentials });
  }

  /** Buffers, verifies and uploads `body` to `key`; see {@link Destination.put}. */
  async put(key: string, body: Readable, options: PutOptions): Promise<WriteReceipt> {
    // As in FileDestination: no unhandled 'error' from the body, before or after a failure.
    const ignore = (): void => {};
    body.on('error', ignore);
    let objectKey: string | undefined;
    try {
      objectKey = joinDestKey(this.prefix, key);
      if (options.size !== undefined && options.size > this.maxSinglePutBytes) {
        throw this.tooLarge(objectKey, options.size);
      }
      const data = await this.readBody(objectKey, body, options);
      body.off('error', ignore);
      const md5 = createHash('md5').update(data).digest();
      const output = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Body: data,
          ContentLength: data.length,
          ContentMD5: md5.toString('base64'),
          ContentType: options.contentType,
          CacheControl: options.cacheControl,
          // ListObjectsV2 shows the ETag; this copy of the MD5 still holds where the ETag is not
          // one (SSE-KMS), for skip-existing's HEAD.
          Metadata: { [MD5_METADATA]: md5.toString('hex') },
        }),
        { abortSignal: options.signal },
      );
      const etag = unquote(output.ETag);
      const md5Hex = md5.toString('hex');
      if (etag !== undefined && etagIsMd5(output) && etag.toLowerCase() !== md5Hex) {
        // Stores that ignore Content-MD5 (s3rver does) still tell us what they stored.
        throw new DestinationError(
          `PUT ${this.where(objectKey)}: stored ETag ${etag} does not match MD5 ${md5Hex}`,
        );
      }
      return etag === undefined
        ? { bytes: data.length, md5: md5Hex }
        : { bytes: data.length, md5: md5Hex, etag };
    } catch (err) {
      if (!body.destroyed) body.destroy();
      throw this.classify('PUT', objectKey ?? key, err, options.signal);
    }
  }

  /** Size and ETag of the object at `key`, or undefined when it does not exist. */
  async head(key: string): Promise<ObjectInfo | undefined> {
    const objectKey = joinDestKey(this.prefix, key);
    try {
      const output = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }),
      );
      const etag = unquote(output.ETag);
      const size = output.ContentLength ?? 0;
      const md5 = output.Metadata?.[MD5_METADATA];
      const sourceEtag = output.Metadata?.[SOURCE_ETAG_METADATA];
      return {
        size,
        ...(etag === undefined ? {} : { etag }),
        ...(md5 && /^[0-9a-f]{32}$/.test(md5) ? { md5 } : {}),
        ...(sourceEtag ? { sourceEtag } : {}),
      };
    } catch (err) {
      if (statusOf(err) === 404 || errorName(err) === 'NotFound') return undefined;
      throw this.classify('HEAD', objectKey, err, undefined);
    }
  }

  /** ListObjectsV2 below the destination prefix, page by page; see {@link Destination.list}. */
  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ListedObject> {
    const cut = prefix.lastIndexOf('/');
    // The directory part is checked like a key: a listing never reaches outside the prefix.
    if (cut > 0) joinDestKey('', prefix.slice(0, cut));
    const base = this.prefix === '' ? '' : `${this.prefix}/`;
    let token: string | undefined;
    do {
      let output;
      try {
        output = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: base + prefix,
            ContinuationToken: token,
            ...(options.recursive === false ? { Delimiter: '/' } : {}),
          }),
        );
      } catch (err) {
        throw this.classify('LIST', base + prefix, err, undefined);
      }
      for (const o of output.Contents ?? []) {
        if (!o.Key?.startsWith(base)) continue;
        const etag = unquote(o.ETag);
        const key = o.Key.slice(base.length);
        yield etag === undefined ? { key, size: o.Size ?? 0 } : { key, size: o.Size ?? 0, etag };
      }
      token = output.IsTruncated ? output.NextContinuationToken : undefined;
    } while (token);
  }

  /** GetObject of `key` as a stream, or undefined when it does not exist. */
  async get(key: string): Promise<Readable | undefined> {
    const objectKey = joinDestKey(this.prefix, key);
    try {
      const output = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }),
      );
      const body = output.Body;
      if (body instanceof Readable) return body;
      if (body === undefined) return Readable.from([]);
      return Readable.from([Buffer.from(await body.transformToByteArray())]);
    } catch (err) {
      if (statusOf(err) === 404 || errorName(err) === 'NoSuchKey') return undefined;
      throw this.classify('GET', objectKey, err, undefined);
    }
  }

  /** CreateMultipartUpload of `key`; see {@link Destination.startMultipart}. */
  async startMultipart(key: string, options: MultipartOptions): Promise<MultipartUpload> {
    const objectKey = joinDestKey(this.prefix, key);
    const sourceEtag = options.sourceEtag;
    // Metadata travels as an HTTP header: only a printable ETag of sane length is recorded.
    const recordable = sourceEtag !== undefined && /^[\x20-\x7e]{1,256}$/.test(sourceEtag);
    try {
      const output = await this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: objectKey,
          ContentType: options.contentType,
          CacheControl: options.cacheControl,
          ...(recordable ? { Metadata: { [SOURCE_ETAG_METADATA]: sourceEtag } } : {}),
        }),
      );
      if (!output.UploadId)
        throw new DestinationError(`CreateMultipartUpload ${this.where(objectKey)}: no UploadId`);
      return new S3MultipartUpload(this, objectKey, output.UploadId);
    } catch (err) {
      throw this.classify('CreateMultipartUpload', objectKey, err, undefined);
    }
  }

  /** DeleteObject of `key` (S3 answers the same whether or not it existed). */
  async delete(key: string): Promise<void> {
    const objectKey = joinDestKey(this.prefix, key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (err) {
      throw this.classify('DELETE', objectKey, err, undefined);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Reads the whole body, refusing more than the announced size or the single-put limit. */
  private async readBody(objectKey: string, body: Readable, options: PutOptions): Promise<Buffer> {
    options.signal?.throwIfAborted();
    const onAbort = (): void => {
      const reason: unknown = options.signal?.reason;
      body.destroy(reason instanceof Error ? reason : new Error('aborted'));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const chunk of body as AsyncIterable<Buffer | string>) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        bytes += buf.length;
        // Stop early rather than buffer a body that can only be rejected.
        if (options.size !== undefined && bytes > options.size)
          throw new SizeMismatchError(options.size, bytes);
        if (bytes > this.maxSinglePutBytes) throw this.tooLarge(objectKey, bytes);
        chunks.push(buf);
      }
      if (options.size !== undefined && bytes !== options.size)
        throw new SizeMismatchError(options.size, bytes);
      return Buffer.concat(chunks, bytes);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  private tooLarge(objectKey: string, bytes: number): DestinationError {
    return new DestinationError(
      `PUT ${this.where(objectKey)}: ${bytes} bytes is over the single-upload limit of ` +
        `${this.maxSinglePutBytes} bytes (maxSinglePutBytes); a larger file is copied in parts ` +
        `when its source announces its size (COLONY_MULTIPART_THRESHOLD_BYTES)`,
      { retryable: false },
    );
  }

  /** `s3://bucket/key`, for messages. */
  where(objectKey: string): string {
    return `s3://${this.bucket}/${objectKey}`;
  }

  /** Turns SDK and network errors into DestinationErrors; ours and aborts pass unchanged. */
  classify(op: string, objectKey: string, err: unknown, signal: AbortSignal | undefined): unknown {
    return classifyS3Error(op, this.where(objectKey), err, signal);
  }
}

/** Whether the ETag is the body's MD5: not for SSE-KMS or SSE-C, nor a multipart-style ETag. */
function etagIsMd5(output: PutObjectCommandOutput): boolean {
  const sse = output.ServerSideEncryption ?? '';
  const plain = /^"?[0-9a-f]{32}"?$/i.test(output.ETag ?? '');
  return plain && !sse.startsWith('aws:kms') && output.SSECustomerAlgorithm === undefined;
}
