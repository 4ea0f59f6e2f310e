import type { FileJob, FileResult } from '../schemas/events.js';
import { SCHEMA_VERSION } from '../schemas/events.js';
import type { BatchVerdict, Delivery } from '../streams/group-runner.js';
import type { StageDeps } from './stage-deps.js';
import type { ClassTarget, TransferRuntime } from './transfer-runtime.js';

export const TRANSFER_GROUP = 'transfer';

/**
 * The transfer stage: copies a batch of jobs on the runtime and publishes one result per job.
 * Results are appended before the jobs are acked, so a crash in between repeats copies (which
 * are idempotent) and never loses one. A job for a class that has no state is poison: dead.
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

  return {
    async handle(batch: Delivery<FileJob>[]): Promise<BatchVerdict> {
      const byClass = new Map<string, Delivery<FileJob>[]>();
      for (const d of batch) {
        const list = byClass.get(d.event.classId);
        if (list) list.push(d);
        else byClass.set(d.event.classId, [d]);
      }
      const dead: { id: string; reason: string }[] = [];
      const results: FileResult[] = [];
      await Promise.all(
        [...byClass].map(async ([classId, deliveries]) => {
          const target = await targetOf(classId);
          if (!target) {
            for (const d of deliveries) dead.push({ id: d.id, reason: `unknown class ${classId}` });
            return;
          }
          results.push(...(await runtime.copy(deliveries.map((d) => d.event), target)));
        }),
      );
      if (results.length) await deps.publisher.publish('results', results);
      return { dead };
    },
    /** A job that kept stalling is failed with the reason, so its class still ends. */
    async beforeDeadLetter(d: Delivery<FileJob>, reason: string): Promise<void> {
      const failed: FileResult = {
        type: 'file-result', v: SCHEMA_VERSION,
        ...(d.event.traceparent ? { traceparent: d.event.traceparent } : {}),
        classId: d.event.classId, ordinal: d.event.ordinal, key: d.event.key, attempts: d.deliveries,
        status: 'failed', reason: `dead-lettered: ${reason}`, code: 'E_DEAD_LETTER',
      };
      await deps.publisher.publish('results', [failed]);
    },
  };
}
