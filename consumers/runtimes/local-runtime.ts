import type { Config } from '../../schemas/config.js';
import type { FileOutcome, JobFile } from '../../schemas/events.js';
import { copyBatch } from '../../copy/copy-batch.js';
import type { Destination } from '../../copy/destinations/destination.js';
import { openDestination } from '../../copy/destinations/open-destination.js';
import { Limiter } from '../../copy/limiter.js';
import { SchemeSource } from '../../copy/sources/scheme-source.js';
import { metrics } from '../../streams/metrics.js';
import type { ClassTarget, TransferRuntime } from './runtime.js';

/** The default runtime: copies in this process, COLONY_CONCURRENCY at a time across batches. */
export class LocalRuntime implements TransferRuntime {
  private readonly source: SchemeSource;
  private readonly limiter: Limiter;
  private readonly dests = new Map<string, Destination>();

  constructor(private readonly config: Config) {
    this.source = new SchemeSource({
      connections: config.concurrency,
      timeoutMs: config.copyTimeoutMs,
      allowedOrigins: config.allowedOrigins,
      s3: { endpoint: config.s3Endpoint, forcePathStyle: config.s3ForcePathStyle },
    });
    this.limiter = new Limiter(config.concurrency);
  }

  async copy(files: readonly JobFile[], target: ClassTarget): Promise<FileOutcome[]> {
    let dest = this.dests.get(target.dest);
    if (!dest) {
      dest = openDestination(target.dest, {
        endpoint: this.config.s3Endpoint,
        forcePathStyle: this.config.s3ForcePathStyle,
      });
      this.dests.set(target.dest, dest);
    }
    const c = this.config;
    return copyBatch(
      files,
      {
        source: this.source,
        dest,
        attempts: c.retryAttempts,
        timeoutMs: c.copyTimeoutMs,
        skipExisting: c.skipExisting,
        multipart: { thresholdBytes: c.multipartThresholdBytes, partBytes: c.multipartPartBytes },
        ...(c.cacheControl ? { cacheControl: c.cacheControl } : {}),
        onFile: (outcome, seconds) =>
          metrics.copyDuration.observe({ status: outcome.status }, seconds),
      },
      this.limiter,
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.dests.values()].map((d) => d.close()));
    await this.source.close();
  }
}
