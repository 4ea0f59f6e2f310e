import type { FileOutcome, JobFile } from '../schemas/events.js';
import type { TransferRuntime } from '../consumers/runtimes/runtime.js';

const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

/** A runtime that copies nothing and reports every file copied: measures the orchestration. */
export class NoopRuntime implements TransferRuntime {
  async copy(files: readonly JobFile[]): Promise<FileOutcome[]> {
    return files.map((f) => ({
      ordinal: f.ordinal,
      key: f.key,
      attempts: 1,
      status: 'copied',
      bytes: 0,
      md5: EMPTY_MD5,
    }));
  }
  async close(): Promise<void> {}
}
