import type { Config } from '../schemas/config.js';
import type { FileOutcome, JobFile } from '../schemas/events.js';
import { copyBatch } from '../lambda/copy-batch.js';
import type { Destination } from '../lambda/destinations/destination.js';
import { openDestination } from '../lambda/destinations/open-destination.js';
import { Limiter } from '../lambda/limiter.js';
import { HttpSource } from '../lambda/sources/http-source.js';

/** Where a class's files go. */
export type ClassTarget = { dest: string; sourceBase?: string | undefined };

/**
 * Runs copies for the transfer stage. Local workers and Lambda implement the same interface and
 * return the same per-file results, so the stage does not know which one it drives.
 */
export interface TransferRuntime {
  copy(files: readonly JobFile[], target: ClassTarget): Promise<FileOutcome[]>;
  close(): Promise<void>;
}

/** The default runtime: copies in this process, COLONY_CONCURRENCY at a time across batches. */
export class LocalRuntime implements TransferRuntime {
  private readonly source: HttpSource;
  private readonly limiter: Limiter;
  private readonly dests = new Map<string, Destination>();

  constructor(private readonly config: Config) {
    this.source = new HttpSource({
      connections: config.concurrency,
      timeoutMs: config.copyTimeoutMs,
      allowedOrigins: config.allowedOrigins,
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
    return copyBatch(
      files,
      { source: this.source, dest, attempts: this.config.retryAttempts, timeoutMs: this.config.copyTimeoutMs },
      this.limiter,
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.dests.values()].map((d) => d.close()));
    await this.source.close();
  }
}
