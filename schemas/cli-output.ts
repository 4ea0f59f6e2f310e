import { z } from 'zod';
import { ClassState } from './class-state.js';
import {
  ClassOutcome,
  ClassRequested,
  DeadLetter,
  Failure,
  FileJobs,
  FileOutcome,
  FileResults,
  StreamNameSchema,
} from './events.js';
import { StageName } from './stages.js';

/**
 * Every JSON document a command prints on stdout, as the single source of its type: each
 * command builds its document with these types and validates it with the schema before it
 * prints it, and the tests read the output back with the same schemas.
 */

const count = z.number().int().nonnegative();

// ---- colony transfer --json ---------------------------------------------------------------

/** One class in the `colony transfer --json` report: copied + skipped + failed = files. */
export const ClassReport = z.object({
  classId: z.string(),
  manifestUrl: z.string(),
  status: z.enum(['transferred', 'failed']),
  /** Distinct files tracked for the class. */
  files: count,
  copied: count,
  skipped: count,
  failed: count,
  bytes: count,
  /** Copy attempts beyond the first, over every file. */
  retries: count,
  durationMs: count,
  failures: z.array(Failure),
});
export type ClassReport = z.infer<typeof ClassReport>;

export const TransferDocument = z.object({ classes: z.array(ClassReport) });
export type TransferDocument = z.infer<typeof TransferDocument>;

/** One class of `colony transfer --dry-run --json`: what a transfer would do with it. */
export const DryRunClass = z.object({
  classId: z.string(),
  manifestUrl: z.string(),
  dest: z.string(),
  /** copy: the files listed would be copied; transferred: nothing to do; fail: the crawl fails. */
  action: z.enum(['copy', 'transferred', 'fail']),
  reason: z.string().optional(),
  files: z.array(
    z.object({
      key: z.string(),
      /** The source URL, query left out (it may hold a signature). */
      url: z.string(),
      kind: z.string(),
    }),
  ),
});
export type DryRunClass = z.infer<typeof DryRunClass>;

export const DryRunDocument = z.object({ dryRun: z.literal(true), classes: z.array(DryRunClass) });
export type DryRunDocument = z.infer<typeof DryRunDocument>;

// ---- colony status --json -----------------------------------------------------------------

/** A consumer of a group, and whether its process is alive (its liveness key exists). */
export const ConsumerStatus = z.object({
  name: z.string(),
  /** Entries delivered to it and not yet acknowledged. */
  pending: count,
  idleMs: count,
  alive: z.boolean(),
});
export type ConsumerStatus = z.infer<typeof ConsumerStatus>;

/** A consumer group on one stream shard, as `colony status` shows it. */
export const GroupStatus = z.object({
  /** The logical stream, and the key of its shard. */
  stream: StreamNameSchema,
  key: z.string(),
  group: z.string(),
  /** The stage whose group this is, when it is one of the pipeline's. */
  stage: StageName.optional(),
  consumers: z.array(ConsumerStatus),
  pending: count,
  /** Entries not yet delivered to the group; null when Redis cannot tell. */
  lag: count.nullable(),
});
export type GroupStatus = z.infer<typeof GroupStatus>;

/** A class with why it failed: its failed files (the first 100), when it has any. */
export const StatusClass = ClassState.extend({ failures: z.array(Failure) });
export type StatusClass = z.infer<typeof StatusClass>;

export const StatusDocument = z.object({
  classes: z.array(StatusClass),
  /** Every consumer group of every stream shard, the stages' and any other. */
  groups: z.array(GroupStatus),
  /** Dead letters over every shard. */
  dead: count,
});
export type StatusDocument = z.infer<typeof StatusDocument>;

// ---- colony scan --json -------------------------------------------------------------------

/** What a scan did with one catalog record. */
export const ScanItem = z.object({
  record: z.number().int().positive(),
  classId: z.string().optional(),
  /** enqueued: a new run was queued; known: this class and version were requested before;
   * skipped: not enqueued, for `reason`. */
  action: z.enum(['enqueued', 'known', 'skipped']),
  reason: z.string().optional(),
  eventId: z.string().optional(),
  /** For a known class: still on its way (`pending`) or done (`finished`). */
  state: z.enum(['queued', 'pending', 'finished', 'conflict']).optional(),
});
export type ScanItem = z.infer<typeof ScanItem>;

export const ScanSummary = z.object({
  records: count,
  enqueued: count,
  known: count,
  skipped: count,
  invalid: count,
});
export type ScanSummary = z.infer<typeof ScanSummary>;

export const ScanDocument = z.object({
  /** The catalog read, or the root discovery listed. */
  catalog: z.string(),
  dest: z.string(),
  summary: ScanSummary,
  items: z.array(ScanItem),
});
export type ScanDocument = z.infer<typeof ScanDocument>;

// ---- colony reconcile --json --------------------------------------------------------------

/** A file of a class that is not at its destination as the audit log says it should be. */
export const FileProblem = z.object({
  ordinal: count,
  key: z.string(),
  problem: z.enum(['missing', 'size']),
  /** What the results stream last said of the file. */
  outcome: z.enum(['copied', 'skipped', 'failed', 'none'] satisfies (
    FileOutcome['status'] | 'none'
  )[]),
  expectedBytes: count.optional(),
  actualBytes: count.optional(),
  reason: z.string().optional(),
});
export type FileProblem = z.infer<typeof FileProblem>;

/** The reconciliation of one class. */
export const ClassReconcile = z.object({
  classId: z.string(),
  run: count,
  status: z.string(),
  dest: z.string(),
  /** Files of the class run according to its jobs entries. */
  files: count,
  present: count,
  problems: z.array(FileProblem),
  /** Files not at the destination and without a result yet: the class is still transferring. */
  pending: count,
  /** Files the class counts that have no jobs entry in the log (trimmed without an archive, or
   * a crawl that failed): they cannot be checked or repaired from the log. */
  unlogged: count,
  /** Files re-enqueued by a repair. */
  repaired: count,
  error: z.string().optional(),
});
export type ClassReconcile = z.infer<typeof ClassReconcile>;

export const ReconcileDocument = z.object({ classes: z.array(ClassReconcile) });
export type ReconcileDocument = z.infer<typeof ReconcileDocument>;

// ---- colony trim --json -------------------------------------------------------------------

/** One archive object: trimmed entries `firstId` to `lastId` of a shard, gzip NDJSON. */
export const ArchiveChunk = z.object({
  key: z.string(),
  firstId: z.string(),
  lastId: z.string(),
  size: count,
});
export type ArchiveChunk = z.infer<typeof ArchiveChunk>;

/** What a group still needs of a stream shard. */
export const GroupPosition = z.object({
  group: z.string(),
  lastDeliveredId: z.string(),
  pending: count,
  /** The first entry the group has not acknowledged: the entry after its last-delivered-id, or
   * its oldest pending entry when that is older. */
  firstNeededId: z.string(),
});
export type GroupPosition = z.infer<typeof GroupPosition>;

/** What the trim of one stream shard did (or, in a dry run, would do). */
export const ShardTrim = z.object({
  stream: StreamNameSchema,
  shard: count,
  key: z.string(),
  /** Entries in the shard before the trim. */
  length: count,
  groups: z.array(GroupPosition),
  /** Entries before this ID were acknowledged by every group; undefined when nothing may go. */
  safeMinId: z.string().optional(),
  /** The group whose position set the safe minimum: the slowest reader. */
  heldBy: z.string().optional(),
  /** Why nothing may be trimmed, when that is so. */
  note: z.string().optional(),
  /** Entries trimmed (in a dry run: that would be). */
  trimmed: count,
  archived: z.array(ArchiveChunk),
  /** MEMORY USAGE of the shard before and after, in bytes. */
  memoryBefore: count,
  memoryAfter: count,
});
export type ShardTrim = z.infer<typeof ShardTrim>;

export const TrimDocument = z.object({
  dryRun: z.boolean(),
  trimmed: count,
  memorySavedBytes: z.number().int(),
  shards: z.array(ShardTrim),
});
export type TrimDocument = z.infer<typeof TrimDocument>;

// ---- colony dlq list --json ---------------------------------------------------------------

/** A dead letter as stored: where it is, and what it says (or why it cannot be read). */
export const StoredDeadLetter = z.object({
  id: z.string(),
  key: z.string(),
  letter: DeadLetter.optional(),
  error: z.string().optional(),
});
export type StoredDeadLetter = z.infer<typeof StoredDeadLetter>;

export const DlqListDocument = z.object({ deadLetters: z.array(StoredDeadLetter) });
export type DlqListDocument = z.infer<typeof DlqListDocument>;

// ---- colony replay ------------------------------------------------------------------------

const replayHead = {
  id: z.string(),
  /** The stream shard's key. */
  stream: z.string(),
  shard: count,
  source: z.enum(['redis', 'archive']),
};

/** One NDJSON line of `colony replay`: a valid entry, or an invalid one with the reason. */
export const ReplayLine = z.union([
  z.object({
    ...replayHead,
    entry: z.union([ClassRequested, FileJobs, FileResults, ClassOutcome, DeadLetter]),
  }),
  z.object({ ...replayHead, fields: z.record(z.string(), z.string()), error: z.string() }),
]);
export type ReplayLine = z.infer<typeof ReplayLine>;

/** `colony replay --group <name> --json`: the group created on each shard. */
export const ReplayGroupDocument = z.object({
  stream: StreamNameSchema,
  group: z.string(),
  shards: z.array(z.object({ key: z.string(), lastDeliveredId: z.string() })),
});
export type ReplayGroupDocument = z.infer<typeof ReplayGroupDocument>;

// ---- colony report --format json ----------------------------------------------------------

const figures = {
  files: count,
  copied: count,
  skipped: count,
  failed: count,
  bytes: count,
  /** Copy attempts beyond the first, over every file counted (as the aggregator counts). */
  retries: count,
  startedAt: z.number().int(),
  durationMs: count,
  bytesPerSecond: z.number().nonnegative(),
};

/** The transfer report of one class, from the results and outcomes streams alone. */
export const ClassTransferReport = z.object({
  classId: z.string(),
  run: count,
  status: z.enum(['transferred', 'failed', 'in progress']),
  manifestUrl: z.string().optional(),
  ...figures,
  /** Files of the class: from its outcome once it has one, else the files seen so far. */
  files: count,
  finishedAt: z.number().int().optional(),
  /** Why the class failed: its failed files, from its outcome (the first 100). */
  failures: z.array(Failure),
});
export type ClassTransferReport = z.infer<typeof ClassTransferReport>;

/** Totals over every class of a report. */
export const OverallReport = z.object({
  ...figures,
  classes: count,
  transferred: count,
  failedClasses: count,
  inProgress: count,
});
export type OverallReport = z.infer<typeof OverallReport>;

export const ReportDocument = z.object({
  generatedAt: z.iso.datetime(),
  group: z.string(),
  classes: z.array(ClassTransferReport),
  overall: OverallReport,
});
export type ReportDocument = z.infer<typeof ReportDocument>;

// ---- printing -----------------------------------------------------------------------------

/**
 * A document as printed: validated against its schema (a document that does not match is a bug,
 * and fails loudly rather than printing something else than the contract), two-space indented.
 */
export function jsonDocument<T extends z.ZodType>(schema: T, doc: z.input<T>): string {
  return JSON.stringify(schema.parse(doc), null, 2);
}
