import type { FileOutcome, JobFile } from '../schemas/events.js';
import { copyFile, type CopyOptions } from './copy-file.js';
import type { Limiter } from './limiter.js';
import { ExistingObjects } from './skip-existing.js';

export type BatchOptions = Omit<CopyOptions, 'existing'> & {
  /** List the destination once and report files already there (same size and checksum) as skipped. */
  skipExisting?: boolean;
  /** Told of each file's outcome and how long it took from its copy slot on (latency metrics). */
  onFile?: (outcome: FileOutcome, seconds: number) => void;
};

/**
 * Copies a batch of files with bounded concurrency and reports one result per job, in job order.
 * The same code runs in the local runtime and in the Lambda handler.
 */
export async function copyBatch(
  jobs: readonly JobFile[],
  options: BatchOptions,
  limiter: Limiter,
): Promise<FileOutcome[]> {
  const { skipExisting, onFile, ...copy } = options;
  let existing: ExistingObjects | undefined;
  if (skipExisting && jobs.length > 0) {
    // Without a listing every file is copied: slower, never wrong, as copies are idempotent.
    existing = await ExistingObjects.list(copy.dest, jobs).catch(() => undefined);
  }
  const withExisting: CopyOptions = existing ? { ...copy, existing } : copy;
  const copyOne = onFile
    ? async (job: JobFile) => {
        const started = performance.now();
        const outcome = await copyFile(job, withExisting);
        onFile(outcome, (performance.now() - started) / 1000);
        return outcome;
      }
    : (job: JobFile) => copyFile(job, withExisting);
  return Promise.all(jobs.map((job) => limiter.run(() => copyOne(job))));
}
