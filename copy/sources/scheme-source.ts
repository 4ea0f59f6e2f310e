import { SourcePermanentError } from '../../schemas/errors.js';
import type { S3Settings } from '../destinations/destination.js';
import type { FileSource, OpenedBody, OpenOptions } from './file-source.js';
import { HttpSource } from './http-source.js';
import { S3Source } from './s3-source.js';

export type SchemeSourceOptions = {
  /** Connections per origin, and sockets to the store. */
  connections: number;
  timeoutMs: number;
  /** Origins besides a URL's own that an HTTP redirect may lead to. */
  allowedOrigins?: readonly string[];
  s3: S3Settings;
};

/**
 * The source a copy reads from, picked by the URL's scheme: `http(s)://` from an origin,
 * `s3://bucket/key` from a bucket. The S3 client is made on first use: an HTTP-only library
 * never needs one.
 */
export class SchemeSource implements FileSource {
  private readonly http: HttpSource;
  private s3: S3Source | undefined;

  constructor(private readonly options: SchemeSourceOptions) {
    this.http = new HttpSource({
      connections: options.connections,
      timeoutMs: options.timeoutMs,
      allowedOrigins: options.allowedOrigins ?? [],
    });
  }

  open(url: string, options: OpenOptions): Promise<OpenedBody> {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
    switch (scheme) {
      case 'http':
      case 'https':
        return this.http.open(url, options);
      case 's3':
        this.s3 ??= new S3Source({
          settings: this.options.s3,
          timeoutMs: this.options.timeoutMs,
          connections: this.options.connections,
        });
        return this.s3.open(url, options);
      default:
        return Promise.reject(
          new SourcePermanentError(
            `unsupported source scheme "${scheme ?? ''}:" (expected http, https or s3)`,
          ),
        );
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.http.close(), this.s3?.close()]);
  }
}
