import type { ClassOutcome, FileResult } from '../schemas/events.js';
import { SCHEMA_VERSION } from '../schemas/events.js';
import type { BatchVerdict, Delivery } from '../streams/group-runner.js';
import type { StageDeps } from './stage-deps.js';

export const AGGREGATOR_GROUP = 'aggregator';

/**
 * The aggregator stage: counts each file once (a bit per ordinal, in one script per class), and
 * when a class's last file lands publishes `class-transferred` or `class-failed` on `outcomes`.
 * The outcome is published before the results are acked and marked published after, so a crash
 * anywhere republishes it (same classId and revision: downstream deduplicates) but never skips it.
 */
export function aggregatorHandler(deps: StageDeps) {
  async function publishOutcome(classId: string): Promise<void> {
    const state = await deps.classes.get(classId);
    if (!state || (state.status !== 'transferred' && state.status !== 'failed')) return;
    if (state.revision <= state.published) return;
    const outcome: ClassOutcome = {
      type: state.status === 'transferred' ? 'class-transferred' : 'class-failed',
      v: SCHEMA_VERSION,
      ...(state.traceparent ? { traceparent: state.traceparent } : {}),
      classId,
      manifestUrl: state.manifestUrl,
      dest: state.dest,
      files: state.total,
      copied: state.copied,
      skipped: state.skipped,
      failed: state.failed,
      bytes: state.bytes,
      failures: state.failed > 0 ? await deps.classes.failures(classId) : [],
      startedAt: state.requestedAt,
      finishedAt: state.finishedAt,
      revision: state.revision,
    };
    await deps.publisher.publish('outcomes', [outcome]);
    await deps.classes.markPublished(classId, state.revision);
    deps.logger.info(`${outcome.type} ${classId}: ${state.copied} copied, ${state.skipped} skipped, ${state.failed} failed`);
  }

  return {
    async handle(batch: Delivery<FileResult>[]): Promise<BatchVerdict> {
      const recorded = await deps.classes.record(batch.map((d) => d.event));
      const unknown = new Set(recorded.filter((r) => !r.known).map((r) => r.classId));
      for (const r of recorded) {
        if (r.ignored) deps.logger.warn(`${r.ignored} results for ${r.classId} had ordinals outside the class`);
      }
      // Every class of the batch, not only those whose counts changed: a redelivered batch must
      // still publish an outcome that a crash kept from being published.
      await Promise.all(recorded.filter((r) => r.known).map((r) => publishOutcome(r.classId)));
      return {
        dead: batch.filter((d) => unknown.has(d.event.classId)).map((d) => ({ id: d.id, reason: `unknown class ${d.event.classId}` })),
      };
    },
  };
}
