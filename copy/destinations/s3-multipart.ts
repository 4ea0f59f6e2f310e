import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DestinationError } from '../../schemas/errors.js';
import type { S3Client } from '@aws-sdk/client-s3';
import type { MultipartUpload } from './destination.js';

/** What an upload needs of the destination that started it. */
export type S3UploadTarget = {
  client: S3Client;
  bucket: string;
  where(objectKey: string): string;
  classify(op: string, objectKey: string, err: unknown, signal: AbortSignal | undefined): unknown;
};

/**
 * One S3 multipart upload. Each part goes with its Content-MD5 and Content-Length, so the store
 * rejects a part corrupted on the way; a part that fails can be sent again under the same number.
 */
export class S3MultipartUpload implements MultipartUpload {
  constructor(
    private readonly dest: S3UploadTarget,
    readonly objectKey: string,
    readonly uploadId: string,
  ) {}

  async uploadPart(
    number: number,
    data: Buffer,
    md5: Buffer,
    signal?: AbortSignal,
  ): Promise<string> {
    try {
      const output = await this.dest.client.send(
        new UploadPartCommand({
          Bucket: this.dest.bucket,
          Key: this.objectKey,
          UploadId: this.uploadId,
          PartNumber: number,
          Body: data,
          ContentLength: data.length,
          ContentMD5: md5.toString('base64'),
        }),
        { abortSignal: signal },
      );
      const etag = output.ETag?.replace(/^"|"$/g, '');
      if (!etag) throw new DestinationError(`UploadPart ${number} of ${this.where()}: no ETag`);
      if (/^[0-9a-f]{32}$/i.test(etag) && etag.toLowerCase() !== md5.toString('hex')) {
        throw new DestinationError(
          `UploadPart ${number} of ${this.where()}: stored ETag ${etag} does not match MD5 ${md5.toString('hex')}`,
        );
      }
      return etag;
    } catch (err) {
      throw this.dest.classify(`UploadPart ${number} of`, this.objectKey, err, signal);
    }
  }

  async complete(
    parts: readonly { number: number; etag: string }[],
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    try {
      const output = await this.dest.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.dest.bucket,
          Key: this.objectKey,
          UploadId: this.uploadId,
          MultipartUpload: {
            Parts: [...parts]
              .sort((a, b) => a.number - b.number)
              .map((p) => ({ PartNumber: p.number, ETag: `"${p.etag}"` })),
          },
        }),
        { abortSignal: signal },
      );
      return output.ETag?.replace(/^"|"$/g, '');
    } catch (err) {
      throw this.dest.classify('CompleteMultipartUpload', this.objectKey, err, signal);
    }
  }

  async abort(): Promise<void> {
    // Best effort: an upload left behind costs storage until the bucket's lifecycle rule
    // (AbortIncompleteMultipartUpload; see the README) removes it.
    await this.dest.client
      .send(
        new AbortMultipartUploadCommand({
          Bucket: this.dest.bucket,
          Key: this.objectKey,
          UploadId: this.uploadId,
        }),
      )
      .catch(() => undefined);
  }

  private where(): string {
    return this.dest.where(this.objectKey);
  }
}
