import type { FileOutcome, JobFile } from '../../schemas/events.js';

/** Where a class's files go. */
export type ClassTarget = {
  dest: string;
  sourceBase?: string | undefined;
  /** The class and run, when the stage passes them: the Lambda runtime puts them in its payload for the logs. */
  classId?: string;
  run?: number;
};

/**
 * Runs copies for the transfer stage. Local workers and Lambda implement the same interface and
 * return the same per-file results, so the stage does not know which one it drives.
 */
export interface TransferRuntime {
  copy(files: readonly JobFile[], target: ClassTarget): Promise<FileOutcome[]>;
  close(): Promise<void>;
}
