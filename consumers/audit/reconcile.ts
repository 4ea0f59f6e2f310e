import type { ClassReconcile, FileProblem } from '../../schemas/cli-output.js';
import type { Destination } from '../../copy/destinations/destination.js';
import type { ClassState } from '../../schemas/class-state.js';
import {
  SCHEMA_VERSION,
  type FileJobs,
  type FileOutcome,
  type JobFile,
} from '../../schemas/events.js';
import type { StreamArchive } from '../../streams/archive.js';
import type { ClassStore } from '../../streams/class-store.js';
import type { Keys } from '../../streams/keys.js';
import type { EventPublisher } from '../../streams/publisher.js';
import type { ColonyRedis } from '../../streams/redis.js';
import { readHistory } from '../../streams/replay.js';
import { childTraceparent } from '../../streams/trace.js';

export type ReconcileDeps = {
  redis: ColonyRedis;
  keys: Keys;
  classes: ClassStore;
  publisher: EventPublisher;
  /** The destination a class was copied to (opened once per URL by the caller). */
  destination(url: string): Destination;
  /** Where trimmed entries were archived, so that the history stays complete. */
  archive?: StreamArchive | undefined;
  /** Files per repair jobs entry. */
  batchSize: number;
};

export type { ClassReconcile, FileProblem };

type Tracked = {
  state: ClassState;
  jobs: Map<number, JobFile>;
  outcomes: Map<number, FileOutcome>;
};

/** Whether a class reconciled clean: every file present with its size, nothing unknown. */
export function isClean(c: ClassReconcile): boolean {
  return !c.error && c.problems.length === 0 && c.pending === 0 && c.unlogged === 0;
}

/**
 * Rebuilds from the audit log alone (the jobs entries of each class's current run, archive
 * included) the files each class should have, and the size each was copied with (its copied or
 * skipped outcome on the results stream). Checks them against the class's destination by
 * listing each folder once (not one request per file), and reports files missing or of another
 * size. With `repair`, re-enqueues exactly those as jobs entries of the class's current run with
 * their original ordinals: the transfer stage copies them again, and the aggregator, which
 * already counted them, changes nothing (a file that had failed moves to copied, and the class
 * is announced again).
 */
export async function reconcile(
  deps: ReconcileDeps,
  classIds: readonly string[] | undefined,
  o: { repair?: boolean } = {},
): Promise<ClassReconcile[]> {
  const ids = classIds?.length
    ? [...new Set(classIds)]
    : await deps.classes.list(Number.MAX_SAFE_INTEGER);
  const out: ClassReconcile[] = [];
  const tracked = new Map<string, Tracked>();
  for (const classId of ids) {
    const state = await deps.classes.get(classId);
    if (!state)
      out.push(empty(classId, { error: `no class ${classId} under prefix ${deps.keys.prefix}` }));
    else tracked.set(classId, { state, jobs: new Map(), outcomes: new Map() });
  }

  for await (const e of readHistory({
    redis: deps.redis,
    keys: deps.keys,
    stream: 'jobs',
    archive: deps.archive,
  })) {
    const t = e.event && tracked.get(e.event.classId);
    if (!t || e.event.run !== t.state.run) continue;
    for (const f of e.event.files) t.jobs.set(f.ordinal, f);
  }
  for await (const e of readHistory({
    redis: deps.redis,
    keys: deps.keys,
    stream: 'results',
    archive: deps.archive,
  })) {
    const t = e.event && tracked.get(e.event.classId);
    if (!t || e.event.run !== t.state.run) continue;
    for (const r of e.event.results) {
      const was = t.outcomes.get(r.ordinal);
      // As the aggregator counts: a copy or skip stands; a failure is replaced by a later success.
      if (!was || was.status === 'failed') t.outcomes.set(r.ordinal, r);
    }
  }

  for (const [classId, t] of tracked) {
    const result = await check(deps, classId, t);
    if (o.repair && result.problems.length)
      result.repaired = await repair(deps, t, result.problems);
    out.push(result);
  }
  const order = new Map(ids.map((id, i) => [id, i]));
  return out.sort((a, b) => order.get(a.classId)! - order.get(b.classId)!);
}

function empty(classId: string, extra: Partial<ClassReconcile> = {}): ClassReconcile {
  return {
    classId,
    run: 0,
    status: 'unknown',
    dest: '',
    files: 0,
    present: 0,
    problems: [],
    pending: 0,
    unlogged: 0,
    repaired: 0,
    ...extra,
  };
}

/** Lists each folder of the given keys once: key -> size. */
async function listFolders(
  dest: Destination,
  keys: Iterable<string>,
): Promise<Map<string, number>> {
  const folders = new Set<string>();
  for (const key of keys) folders.add(key.slice(0, key.lastIndexOf('/') + 1));
  const sizes = new Map<string, number>();
  for (const folder of folders) {
    for await (const o of dest.list(folder, { recursive: false })) sizes.set(o.key, o.size);
  }
  return sizes;
}

async function check(deps: ReconcileDeps, classId: string, t: Tracked): Promise<ClassReconcile> {
  const { state } = t;
  const result = empty(classId, {
    run: state.run,
    status: state.status,
    dest: state.dest,
    files: t.jobs.size,
  });
  if (!state.dest) return { ...result, error: 'the class has no destination' };
  let unlogged = 0;
  for (let ordinal = 0; ordinal < state.total; ordinal++) if (!t.jobs.has(ordinal)) unlogged++;
  result.unlogged = unlogged;
  const inProgress = state.status === 'queued' || state.status === 'transferring';
  if (inProgress && state.total === 0) result.pending = 1;
  const sizes = await listFolders(
    deps.destination(state.dest),
    [...t.jobs.values()].map((f) => f.key),
  );
  for (const file of [...t.jobs.values()].sort((a, b) => a.ordinal - b.ordinal)) {
    const outcome = t.outcomes.get(file.ordinal);
    const actual = sizes.get(file.key);
    const expected = outcome && outcome.status !== 'failed' ? outcome.bytes : undefined;
    const base = {
      ordinal: file.ordinal,
      key: file.key,
      outcome: outcome?.status ?? ('none' as const),
    };
    if (actual === undefined) {
      if (!outcome && inProgress) result.pending++;
      else {
        result.problems.push({
          ...base,
          problem: 'missing',
          ...(expected !== undefined ? { expectedBytes: expected } : {}),
          ...(outcome?.status === 'failed' ? { reason: outcome.reason } : {}),
        });
      }
    } else if (expected !== undefined && expected !== actual) {
      result.problems.push({
        ...base,
        problem: 'size',
        expectedBytes: expected,
        actualBytes: actual,
      });
    } else result.present++;
  }
  return result;
}

async function repair(
  deps: ReconcileDeps,
  t: Tracked,
  problems: readonly FileProblem[],
): Promise<number> {
  const files = problems.map((p) => t.jobs.get(p.ordinal)!).filter(Boolean);
  const traceparent = childTraceparent(t.state.traceparent || undefined);
  const entries: FileJobs[] = [];
  for (let start = 0; start < files.length; start += deps.batchSize) {
    entries.push({
      type: 'file-jobs',
      v: SCHEMA_VERSION,
      traceparent,
      classId: t.state.classId,
      run: t.state.run,
      files: files.slice(start, start + deps.batchSize),
    });
  }
  await deps.publisher.publish('jobs', entries);
  return files.length;
}

/**
 * Waits until every repaired file is at its destination with its expected size (or present,
 * when its size is unknown), listing the folders again every `pollMs`, for at most `timeoutMs`.
 * Returns the reconciliations with the files that came back moved from problems to present.
 */
export async function waitForRepairs(
  deps: Pick<ReconcileDeps, 'destination'>,
  results: readonly ClassReconcile[],
  o: { timeoutMs: number; pollMs?: number },
): Promise<ClassReconcile[]> {
  const deadline = Date.now() + o.timeoutMs;
  const current = results.map((r) => ({ ...r, problems: [...r.problems] }));
  for (;;) {
    for (const r of current) {
      if (!r.repaired || r.problems.length === 0) continue;
      const sizes = await listFolders(
        deps.destination(r.dest),
        r.problems.map((p) => p.key),
      );
      const still = r.problems.filter((p) => {
        const size = sizes.get(p.key);
        return size === undefined || (p.expectedBytes !== undefined && size !== p.expectedBytes);
      });
      r.present += r.problems.length - still.length;
      r.problems = still;
    }
    if (current.every((r) => !r.repaired || r.problems.length === 0) || Date.now() >= deadline)
      return current;
    await new Promise((resolve) => setTimeout(resolve, o.pollMs ?? 500));
  }
}
