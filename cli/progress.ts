import type { ClassState } from '../schemas/class-state.js';
import { formatBytes } from './report.js';

/**
 * Progress on stderr for long work: one line redrawn in place on a terminal, one line every
 * few seconds otherwise (logs, CI), with files and bytes done and the current rates.
 */
export class Progress {
  private readonly started = Date.now();
  private lastLineAt = 0;
  private last = { at: Date.now(), done: 0, bytes: 0 };
  private rate = { files: 0, bytes: 0 };
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly enabled: boolean,
  ) {}

  update(states: readonly (ClassState | undefined)[]): void {
    if (!this.enabled) return;
    let total = 0,
      done = 0,
      bytes = 0,
      failed = 0,
      finished = 0,
      crawling = 0;
    for (const s of states) {
      if (!s) continue;
      total += s.total;
      done += s.done;
      bytes += s.bytes;
      failed += s.failed;
      if (s.status === 'transferred' || s.status === 'failed') finished++;
      if (!s.crawled) crawling++;
    }
    const now = Date.now();
    const dt = (now - this.last.at) / 1000;
    if (dt >= 1) {
      this.rate = { files: (done - this.last.done) / dt, bytes: (bytes - this.last.bytes) / dt };
      this.last = { at: now, done, bytes };
    }
    const line =
      `classes ${finished}/${states.length}${crawling ? ` (${crawling} crawling)` : ''}  ` +
      `files ${done}/${total}${failed ? ` (${failed} failed)` : ''}  ${formatBytes(bytes)}  ` +
      `${Math.round(this.rate.files)} files/s  ${formatBytes(this.rate.bytes)}/s  ${Math.round((now - this.started) / 1000)}s`;
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[K${line}`);
      this.drawn = true;
    } else if (now - this.lastLineAt >= 5000) {
      this.out.write(`${line}\n`);
      this.lastLineAt = now;
    }
  }

  end(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
