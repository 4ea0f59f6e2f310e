import type { ClassOutcome, FileResults } from '../../schemas/events.js';
import { describeError } from '../../schemas/errors.js';
import { LOOP_BACKOFF, backoffDelay, sleep } from '../../copy/backoff.js';
import type { StreamArchive } from '../../streams/archive.js';
import { decodeEntry } from '../../streams/codec.js';
import type { Keys } from '../../streams/keys.js';
import { lastEntryId, readGroup, type GroupEntry } from '../../streams/replay.js';
import { compareIds, idTime } from '../../streams/stream-ids.js';
import type { BlockingConnection, ColonyRedis } from '../../streams/redis.js';

/** The transfer report of one class, from the results and outcomes streams alone. */
export type ClassTransferReport = {
  classId: string;
  run: number;
  status: 'transferred' | 'failed' | 'in progress';
  manifestUrl?: string;
  /** Files of the class: from its outcome once it has one, else the files seen so far. */
  files: number;
  copied: number;
  skipped: number;
  failed: number;
  bytes: number;
  /** Copy attempts beyond the first, over every file counted (as the aggregator counts). */
  retries: number;
  startedAt: number;
  finishedAt?: number;
  durationMs: number;
  bytesPerSecond: number;
};

export type OverallReport = Omit<
  ClassTransferReport,
  'classId' | 'run' | 'status' | 'manifestUrl' | 'finishedAt'
> & {
  classes: number;
  transferred: number;
  failedClasses: number;
  inProgress: number;
};

const COPIED = 1;
const SKIPPED = 2;
const FAILED = 3;

type ClassTally = {
  run: number;
  /** One byte per ordinal: 0 not seen, else COPIED, SKIPPED or FAILED. */
  status: Uint8Array;
  copied: number;
  skipped: number;
  failed: number;
  bytes: number;
  retries: number;
  firstAt: number;
  lastAt: number;
  outcome?: ClassOutcome;
};

/**
 * Folds results and outcomes into per-class and overall figures, counting each file once per
 * class run exactly as the aggregator does: the first terminal outcome of an ordinal counts, a
 * duplicate changes nothing, and a file that failed and later arrives copied or skipped (a
 * retried dead letter, a repair) moves from failed to its new status. Results of an earlier run
 * than the latest seen are ignored. Memory is one byte per file.
 */
export class TransferReport {
  private readonly tallies = new Map<string, ClassTally>();

  private tally(classId: string, run: number, at: number): ClassTally | undefined {
    let t = this.tallies.get(classId);
    if (t && run < t.run) return undefined;
    if (!t || run > t.run) {
      t = {
        run,
        status: new Uint8Array(64),
        copied: 0,
        skipped: 0,
        failed: 0,
        bytes: 0,
        retries: 0,
        firstAt: at,
        lastAt: at,
      };
      this.tallies.set(classId, t);
    }
    t.firstAt = Math.min(t.firstAt, at);
    t.lastAt = Math.max(t.lastAt, at);
    return t;
  }

  /** Adds a results entry; `entryId` (its stream ID) dates it. */
  addResults(e: FileResults, entryId: string): void {
    const t = this.tally(e.classId, e.run, idTime(entryId));
    if (!t) return;
    for (const r of e.results) {
      if (r.ordinal >= t.status.length) {
        const grown = new Uint8Array(Math.max(r.ordinal + 1, t.status.length * 2));
        grown.set(t.status);
        t.status = grown;
      }
      const was = t.status[r.ordinal]!;
      const now = r.status === 'copied' ? COPIED : r.status === 'skipped' ? SKIPPED : FAILED;
      if (was !== 0 && !(was === FAILED && now !== FAILED)) continue;
      if (was === FAILED) t.failed--;
      t.status[r.ordinal] = now;
      t.retries += r.attempts - 1;
      if (r.status === 'failed') t.failed++;
      else {
        if (r.status === 'copied') t.copied++;
        else t.skipped++;
        t.bytes += r.bytes;
      }
    }
  }

  /** Adds an outcome; the latest revision of the latest run wins. */
  addOutcome(o: ClassOutcome): void {
    const t = this.tally(o.classId, o.run, o.finishedAt);
    if (!t) return;
    t.firstAt = Math.min(t.firstAt, o.startedAt);
    if (!t.outcome || o.revision >= t.outcome.revision) t.outcome = o;
  }

  /** Per-class figures, in the order classes were first seen. */
  classes(): ClassTransferReport[] {
    return [...this.tallies].map(([classId, t]) => {
      const o = t.outcome;
      const finishedAt = o ? Math.max(o.finishedAt, t.lastAt) : undefined;
      const startedAt = o ? o.startedAt : t.firstAt;
      const durationMs = Math.max(0, (finishedAt ?? t.lastAt) - startedAt);
      const counted = t.copied + t.skipped + t.failed;
      // files: the outcome's count, or what was seen when the class has not ended yet.
      return {
        classId,
        run: t.run,
        status: !o ? 'in progress' : o.type === 'class-transferred' ? 'transferred' : 'failed',
        ...(o ? { manifestUrl: o.manifestUrl } : {}),
        files: Math.max(o?.files ?? 0, counted),
        copied: t.copied,
        skipped: t.skipped,
        failed: t.failed,
        bytes: t.bytes,
        retries: t.retries,
        startedAt,
        ...(finishedAt !== undefined ? { finishedAt } : {}),
        durationMs,
        bytesPerSecond: rate(t.bytes, durationMs),
      };
    });
  }

  /** Totals over every class; the duration runs from the first start to the last finish. */
  overall(classes = this.classes()): OverallReport {
    const sum = (f: (c: ClassTransferReport) => number) => classes.reduce((a, c) => a + f(c), 0);
    const start = classes.length ? Math.min(...classes.map((c) => c.startedAt)) : 0;
    const end = classes.length ? Math.max(...classes.map((c) => c.startedAt + c.durationMs)) : 0;
    const bytes = sum((c) => c.bytes);
    return {
      classes: classes.length,
      transferred: classes.filter((c) => c.status === 'transferred').length,
      failedClasses: classes.filter((c) => c.status === 'failed').length,
      inProgress: classes.filter((c) => c.status === 'in progress').length,
      files: sum((c) => c.files),
      copied: sum((c) => c.copied),
      skipped: sum((c) => c.skipped),
      failed: sum((c) => c.failed),
      bytes,
      retries: sum((c) => c.retries),
      startedAt: start,
      durationMs: Math.max(0, end - start),
      bytesPerSecond: rate(bytes, end - start),
    };
  }
}

function rate(bytes: number, ms: number): number {
  return ms > 0 ? Math.round((bytes * 1000) / ms) : 0;
}

export type ReportConsumerOptions = {
  /** Command connection: group creation, catch-up reads, acks. */
  redis: ColonyRedis;
  /** A connection of its own for the blocking reads of `follow` (see connectBlocking). */
  reader: BlockingConnection;
  keys: Keys;
  group: string;
  consumer: string;
  /** After catching up, keep reading new events until `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
  blockMs?: number;
  /** Where trimmed entries were archived: read first, when the group is new, so that the report
   * still covers them. */
  archive?: StreamArchive | undefined;
  /** Called once the history (up to the entries last at start) is read. */
  onCaughtUp?(run: ReportRun): void;
  /** Called after each batch of live events in `follow` mode. */
  onUpdate?(report: TransferReport): void;
};

export type ReportRun = {
  report: TransferReport;
  /** Whether the group was created now (at `0`), or existed and was resumed where it stood. */
  created: boolean;
  read: number;
  /** Entries that failed validation: skipped (and acked), they count nowhere. */
  invalid: { key: string; id: string; error: string }[];
};

const REPORT_STREAMS = ['results', 'outcomes'] as const;

/**
 * A reporting consumer: attaches its own consumer group at `0` to every shard of `results` and
 * `outcomes` (or resumes it when it exists), reads the history up to the entries that were last
 * when it started, then, with `follow`, live events as they come. It is one more group to the
 * pipeline: its reads and acks touch nothing the stages use, and invalid entries are skipped,
 * not dead-lettered (the stages already did that).
 */
export async function runReportConsumer(o: ReportConsumerOptions): Promise<ReportRun> {
  const report = new TransferReport();
  const streamOf = new Map<string, 'results' | 'outcomes'>();
  for (const s of REPORT_STREAMS) for (const key of o.keys.allShards(s)) streamOf.set(key, s);
  const run: ReportRun = { report, created: false, read: 0, invalid: [] };
  for (const key of streamOf.keys()) {
    try {
      await o.redis.xgroup('CREATE', key, o.group, '0', 'MKSTREAM');
      run.created = true;
    } catch (err) {
      if (!describeError(err).includes('BUSYGROUP')) throw err;
    }
  }

  // The archive holds what was trimmed; an entry both archived and still in Redis counts once.
  const archivedUpTo = new Map<string, string>();
  if (o.archive && run.created) {
    for (const s of REPORT_STREAMS) {
      for (let shard = 0; shard < o.keys.shardCount(s); shard++) {
        const key = o.keys.stream(s, shard);
        const page: GroupEntry[] = [];
        for await (const a of o.archive.read(s, shard)) {
          page.push({ key, id: a.id, fields: a.fields });
          archivedUpTo.set(key, a.id);
          if (page.length >= 500) await fold(page.splice(0), false);
        }
        await fold(page, false);
      }
    }
  }

  async function fold(entries: GroupEntry[], ack = true): Promise<void> {
    const acks = new Map<string, string[]>();
    for (const e of entries) {
      run.read++;
      const ids = acks.get(e.key) ?? [];
      if (ids.push(e.id) === 1) acks.set(e.key, ids);
      const upTo = ack ? archivedUpTo.get(e.key) : undefined;
      if (upTo !== undefined && compareIds(e.id, upTo) <= 0) continue;
      try {
        const stream = streamOf.get(e.key)!;
        if (stream === 'results') report.addResults(decodeEntry('results', e.fields), e.id);
        else report.addOutcome(decodeEntry('outcomes', e.fields));
      } catch (err) {
        run.invalid.push({ key: e.key, id: e.id, error: describeError(err) });
      }
    }
    if (!ack) return;
    for (const [key, ids] of acks) await o.redis.xack(key, o.group, ...ids);
  }

  for (const key of streamOf.keys()) {
    const end = await lastEntryId(o.redis, key);
    while (end !== undefined) {
      const page = await readGroup(o.redis, {
        group: o.group,
        consumer: o.consumer,
        keys: [key],
        count: 500,
      });
      await fold(page);
      if (page.length === 0 || compareIds(page[page.length - 1]!.id, end) >= 0) break;
    }
  }
  o.onCaughtUp?.(run);

  /** On a cluster the shards sit on several nodes, which one XREADGROUP cannot span: each is
   * read on its own, without blocking, and an empty round waits a little. */
  async function readEachShard(keys: string[]): Promise<GroupEntry[]> {
    const out: GroupEntry[] = [];
    for (const key of keys)
      out.push(
        ...(await readGroup(o.redis, {
          group: o.group,
          consumer: o.consumer,
          keys: [key],
          count: 500,
        })),
      );
    if (out.length === 0) await sleep(Math.min(o.blockMs ?? 1000, 250));
    return out;
  }

  let errors = 0;
  while (o.follow && !o.signal?.aborted) {
    let entries: GroupEntry[];
    try {
      entries = o.redis.isCluster
        ? await readEachShard([...streamOf.keys()])
        : await readGroup(o.reader, {
            group: o.group,
            consumer: o.consumer,
            keys: [...streamOf.keys()],
            count: 500,
            blockMs: o.blockMs ?? 1000,
          });
      errors = 0;
    } catch (err) {
      // A Redis restart or a dropped connection: wait and read again; a removed group is final.
      if (describeError(err).includes('NOGROUP') || ++errors > 100) throw err;
      await sleep(backoffDelay(errors, LOOP_BACKOFF));
      continue;
    }
    if (entries.length === 0) continue;
    await fold(entries);
    o.onUpdate?.(report);
  }
  return run;
}
