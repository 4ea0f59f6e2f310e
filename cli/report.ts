import type { ClassState } from '../schemas/class-state.js';
import type { ClassReport } from '../schemas/cli-output.js';
import type { Failure } from '../schemas/events.js';
import { plural } from './command-kit.js';

export type { ClassReport };

/** A class's line in the `colony transfer --json` report, from its state and its failures. */
export function classReport(state: ClassState, failures: Failure[]): ClassReport {
  return {
    classId: state.classId,
    manifestUrl: state.manifestUrl,
    status: state.status === 'transferred' ? 'transferred' : 'failed',
    files: state.total,
    copied: state.copied,
    skipped: state.skipped,
    failed: state.failed,
    bytes: state.bytes,
    retries: state.retries,
    durationMs: Math.max(0, state.finishedAt - state.requestedAt),
    failures,
  };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** The per-class summary a person reads on stderr. */
export function formatSummary(reports: readonly ClassReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    const mark = r.status === 'transferred' ? 'ok  ' : 'FAIL';
    lines.push(
      `${mark} ${r.classId}  ${plural(r.files, 'file')}: ${r.copied} copied, ${r.skipped} skipped, ${r.failed} failed, ${formatBytes(r.bytes)}${r.retries ? `, ${r.retries} retries` : ''}`,
    );
    for (const f of r.failures.slice(0, 50)) lines.push(`       failed ${f.path}: ${f.reason}`);
    if (r.failures.length > 50)
      lines.push(`       ... and ${r.failures.length - 50} more (see --json)`);
  }
  const ok = reports.filter((r) => r.status === 'transferred').length;
  lines.push(`${ok} of ${plural(reports.length, 'class', 'classes')} transferred completely`);
  return lines.join('\n');
}
