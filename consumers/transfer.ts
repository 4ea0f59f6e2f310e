import type { FileJobs, FileOutcome, FileResults } from '../schemas/events.js';
import { SCHEMA_VERSION } from '../schemas/events.js';
import { ErrorCode } from '../schemas/errors.js';
import type { BatchVerdict, Delivery } from '../streams/group-runner.js';
import { runInDeliverySpan } from '../streams/telemetry.js';
import { childTraceparent } from '../streams/trace.js';
import { metrics } from '../streams/metrics.js';
import type { StageDeps } from './stage-deps.js';
import type { ClassTarget, TransferRuntime } from './runtimes/runtime.js';

export const TRANSFER_GROUP = 'transfer';

/** From this delivery on, a batch of several files is split into one entry per file. */
export const SPLIT_AT_DELIVERY = 3;

/**
 * The transfer stage: copies each batch of files on the runtime and publishes one results entry
 * per batch, with an outcome per file. Results are appended before the batch is acked, so a crash
 * in between repeats copies (which are idempotent) and never loses one.
 *
 * A batch that keeps coming back (its process died while copying it, again and again) is split
 * into single-file entries, so that one poison file is dead-lettered alone instead of taking 99
 * good files with it. A batch for a class that has no state is poison and goes to `dead`.
 */
export function transferHandler(deps: StageDeps, runtime: TransferRuntime) {
  const targets = new Map<string, ClassTarget | null>();

  async function targetOf(classId: string): Promise<ClassTarget | null> {
    let target = targets.get(classId);
    if (target === undefined) {
      const state = await deps.classes.get(classId);
      target = state?.dest ? { dest: state.dest, sourceBase: state.sourceBase || undefined } : null;
      // Bounded: a long-running transfer process sees many classes.
      if (targets.size > 10_000) targets.clear();
      targets.set(classId, target);
    }
    return target;
  }

  /** Built inside the delivery's span: the results entry names it as its parent. */
  function resultsEntry(jobs: FileJobs, results: FileOutcome[]): FileResults {
    return {
      type: 'file-results',
      v: SCHEMA_VERSION,
      traceparent: childTraceparent(jobs.traceparent),
      classId: jobs.classId,
      run: jobs.run,
      results,
    };
  }

  return {
    async handle(batch: Delivery<FileJobs>[]): Promise<BatchVerdict> {
      const dead: { id: string; reason: string }[] = [];
      const splits: FileJobs[] = [];
      await Promise.all(
        batch.map((d) =>
          runInDeliverySpan(d, async () => {
            const jobs = d.event;
            if (d.deliveries >= SPLIT_AT_DELIVERY && jobs.files.length > 1) {
              const traceparent = childTraceparent(jobs.traceparent);
              for (const file of jobs.files) splits.push({ ...jobs, traceparent, files: [file] });
              return;
            }
            const target = await targetOf(jobs.classId);
            if (!target) {
              dead.push({ id: d.id, reason: `unknown class ${jobs.classId}` });
              return;
            }
            const outcomes = await runtime.copy(jobs.files, target);
            countOutcomes(outcomes);
            // Each batch reports as soon as it is copied, not when the slowest batch read with it
            // is: its class's progress (and the dashboard's glyphs) move batch by batch.
            await deps.publisher.publish('results', [resultsEntry(jobs, outcomes)]);
          }),
        ),
      );
      if (splits.length) await deps.publisher.publish('jobs', splits);
      return { dead };
    },
    /** A batch that kept stalling is failed file by file with the reason, so its class still ends. */
    async beforeDeadLetter(d: Delivery<FileJobs>, reason: string): Promise<void> {
      const failed: FileOutcome[] = d.event.files.map((f) => ({
        ordinal: f.ordinal,
        key: f.key,
        attempts: d.deliveries,
        status: 'failed',
        reason: `dead-lettered: ${reason}`,
        code: ErrorCode.DeadLetter,
      }));
      await deps.publisher.publish('results', [resultsEntry(d.event, failed)]);
    },
  };
}

/** The process counters of file outcomes (GET /metrics). */
function countOutcomes(outcomes: readonly FileOutcome[]): void {
  let retries = 0;
  for (const o of outcomes) {
    metrics.files.inc({ status: o.status });
    if (o.status !== 'failed') metrics.bytes.inc({ status: o.status }, o.bytes);
    retries += o.attempts - 1;
  }
  if (retries) metrics.retries.inc(retries);
}
