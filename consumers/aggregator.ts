import type { ClassOutcome, FileResults } from '../schemas/events.js';
import { SCHEMA_VERSION } from '../schemas/events.js';
import type { BatchVerdict, Delivery } from '../streams/group-runner.js';
import { runInDeliverySpan } from '../streams/telemetry.js';
import { childTraceparent } from '../streams/trace.js';
import type { StageDeps } from './stage-deps.js';

export const AGGREGATOR_GROUP = 'aggregator';

/**
 * The aggregator stage: counts each file once (a bit per ordinal, one script call per results
 * entry), and when a class's last file lands publishes `class-transferred` or `class-failed` on
 * `outcomes`. Publication is claimed with a lease (one aggregator publishes, however many finish
 * the class at once), done before the results are acked, and marked published after: a crash
 * anywhere republishes it once the lease lapses (same classId, run and revision: downstream
 * deduplicates) but never skips it.
 */
export function aggregatorHandler(deps: StageDeps) {
  /** Runs inside the span of the delivery whose results finished the class: the outcome is its child. */
  async function publishOutcome(classId: string, parent: string | undefined): Promise<void> {
    const claimed = await deps.classes.claimOutcome(classId);
    if (claimed === 0) return;
    const state = await deps.classes.get(classId);
    if (!state || (state.status !== 'transferred' && state.status !== 'failed')) return;
    const traceparent = parent ?? (state.traceparent || undefined);
    const outcome: ClassOutcome = {
      type: state.status === 'transferred' ? 'class-transferred' : 'class-failed',
      v: SCHEMA_VERSION,
      ...(traceparent ? { traceparent: childTraceparent(traceparent) } : {}),
      classId,
      manifestUrl: state.manifestUrl,
      dest: state.dest,
      files: state.total,
      copied: state.copied,
      skipped: state.skipped,
      failed: state.failed,
      bytes: state.bytes,
      failures: state.failed > 0 ? await deps.classes.failures(classId) : [],
      retries: state.retries,
      startedAt: state.requestedAt,
      finishedAt: state.finishedAt,
      durationMs: Math.max(0, state.finishedAt - state.requestedAt),
      bytesPerSecond:
        state.finishedAt > state.requestedAt
          ? Math.round((state.bytes * 1000) / (state.finishedAt - state.requestedAt))
          : 0,
      run: Math.max(1, state.run),
      revision: claimed,
    };
    await deps.publisher.publish('outcomes', [outcome]);
    await deps.classes.markPublished(classId, claimed);
    deps.logger.info('class finished', {
      class_id: classId,
      outcome: outcome.type,
      files: state.total,
      copied: state.copied,
      skipped: state.skipped,
      failed: state.failed,
      bytes: state.bytes,
      revision: claimed,
    });
  }

  return {
    async handle(batch: Delivery<FileResults>[]): Promise<BatchVerdict> {
      const recorded = await deps.classes.record(batch.map((d) => d.event));
      const dead: { id: string; reason: string }[] = [];
      // Each class with the last delivery of the batch that names it.
      const touched = new Map<string, Delivery<FileResults>>();
      recorded.forEach((r, i) => {
        if (!r.known) dead.push({ id: batch[i]!.id, reason: `unknown class ${r.classId}` });
        else touched.set(r.classId, batch[i]!);
        if (r.ignored)
          deps.logger.warn('results with ordinals outside the class ignored', {
            class_id: r.classId,
            ignored: r.ignored,
          });
      });
      // Every class of the batch, not only those whose counts changed: a redelivered batch must
      // still publish an outcome that a crash kept from being published.
      await Promise.all(
        [...touched].map(([id, d]) =>
          runInDeliverySpan(d, () => publishOutcome(id, d.event.traceparent)),
        ),
      );
      return { dead };
    },
  };
}
