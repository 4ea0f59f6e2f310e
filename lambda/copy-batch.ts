import type { FileOutcome, JobFile } from '../schemas/events.js';
import { copyFile, type CopyOptions } from './copy-file.js';
import type { Limiter } from './limiter.js';

/**
 * Copies a batch of files with bounded concurrency and reports one result per job, in job order.
 * The same code runs in the local runtime and in the Lambda handler.
 */
export async function copyBatch(
  jobs: readonly JobFile[],
  options: CopyOptions,
  limiter: Limiter,
): Promise<FileOutcome[]> {
  return Promise.all(jobs.map((job) => limiter.run(() => copyFile(job, options))));
}
