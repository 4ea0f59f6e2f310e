import { isFinished, type ClassState } from '../../schemas/class-state.js';
import type { ClassSummary } from '../../schemas/dashboard.js';

/** Progress samples kept per running class for its current rate. */
const RATE_WINDOW = 6;

type Sample = { at: number; done: number; bytes: number };

/**
 * Turns class states into summaries with rates: a running class's rate over its last few
 * samples, a finished one's average over its run.
 */
export class ClassRates {
  private readonly samples = new Map<string, Sample[]>();

  summarize(s: ClassState, now: number): ClassSummary {
    const finished = isFinished(s);
    let bytesPerSecond = 0;
    let filesPerSecond = 0;
    if (finished || s.status === 'transferred' || s.status === 'failed') {
      this.samples.delete(s.classId);
      const seconds = (s.finishedAt - s.requestedAt) / 1000;
      if (seconds > 0) {
        bytesPerSecond = s.bytes / seconds;
        filesPerSecond = s.done / seconds;
      }
    } else {
      let list = this.samples.get(s.classId);
      if (!list) this.samples.set(s.classId, (list = []));
      if (list.length === 0 || list[list.length - 1]!.at < now)
        list.push({ at: now, done: s.done, bytes: s.bytes });
      if (list.length > RATE_WINDOW) list.shift();
      const first = list[0]!;
      const seconds = (now - first.at) / 1000;
      if (seconds > 0) {
        bytesPerSecond = Math.max(0, (s.bytes - first.bytes) / seconds);
        filesPerSecond = Math.max(0, (s.done - first.done) / seconds);
      }
    }
    return {
      classId: s.classId,
      title: s.title,
      status: s.status,
      crawled: s.crawled > 0,
      finished,
      total: s.total,
      done: s.done,
      copied: s.copied,
      skipped: s.skipped,
      failed: s.failed,
      bytes: s.bytes,
      retries: s.retries,
      run: s.run,
      requestedAt: s.requestedAt,
      finishedAt: s.finishedAt,
      bytesPerSecond: Math.round(bytesPerSecond),
      filesPerSecond: Math.round(filesPerSecond * 10) / 10,
    };
  }
}

/** Whether a summary changed enough to be sent: its progress, or a running class's rates. */
export function summaryChanged(a: ClassSummary | undefined, b: ClassSummary): boolean {
  if (!a) return true;
  return (
    (!b.finished &&
      (a.bytesPerSecond !== b.bytesPerSecond || a.filesPerSecond !== b.filesPerSecond)) ||
    a.status !== b.status ||
    a.done !== b.done ||
    a.copied !== b.copied ||
    a.skipped !== b.skipped ||
    a.failed !== b.failed ||
    a.bytes !== b.bytes ||
    a.retries !== b.retries ||
    a.total !== b.total ||
    a.crawled !== b.crawled ||
    a.finished !== b.finished ||
    a.run !== b.run ||
    a.title !== b.title
  );
}
