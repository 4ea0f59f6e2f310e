import { z } from 'zod';
import { ClassState } from './class-state.js';
import { STREAM_NAMES } from './events.js';

/**
 * The documents of the service's JSON API (`/api/...`) and of its server-sent events, as the
 * dashboard reads them. The dashboard imports the types only; tests validate answers with these.
 */

const count = z.number().int().nonnegative();

/** One class as listed: its progress, without its per-file bitfield. */
export const ClassSummary = z.object({
  classId: z.string(),
  title: z.string(),
  status: ClassState.shape.status,
  /** Every job is published (the file count is final). */
  crawled: z.boolean(),
  /** Its last file landed and its outcome was published. */
  finished: z.boolean(),
  total: count,
  done: count,
  copied: count,
  skipped: count,
  failed: count,
  bytes: count,
  retries: count,
  run: count,
  requestedAt: count,
  finishedAt: count,
  /** Bytes and files per second: over the last seconds while it runs, its average once finished. */
  bytesPerSecond: z.number().nonnegative(),
  filesPerSecond: z.number().nonnegative(),
});
export type ClassSummary = z.infer<typeof ClassSummary>;

export const ClassList = z.object({
  /** Oldest request first. */
  classes: z.array(ClassSummary),
  /** When the server last read the classes from Redis (ms since the epoch). */
  at: count,
});
export type ClassList = z.infer<typeof ClassList>;

export const FileFailure = z.object({ ordinal: count, path: z.string(), reason: z.string() });
export type FileFailure = z.infer<typeof FileFailure>;

/**
 * One class with its files: `done` is the class's done bitmap as hex (bit i, most significant
 * bit of byte i/8 first, is set once file i reached a terminal state), `failed` the same for the
 * files that failed; both cover `total` bits (trailing zero bytes may be left out).
 */
export const ClassDetail = z.object({
  class: ClassSummary,
  manifestUrl: z.string(),
  dest: z.string(),
  bits: z.object({
    done: z.string().regex(/^([0-9a-f]{2})*$/),
    failed: z.string().regex(/^([0-9a-f]{2})*$/),
  }),
  /** The first failures, in ordinal order (at most 200), with their reasons. */
  failures: z.array(FileFailure),
});
export type ClassDetail = z.infer<typeof ClassDetail>;

export const ConsumerStatus = z.object({
  name: z.string(),
  pending: count,
  /** Since the consumer last read or claimed. */
  idleMs: count,
  /** Its liveness key exists: the process is running. */
  alive: z.boolean(),
});
export type ConsumerStatus = z.infer<typeof ConsumerStatus>;

export const GroupStatus = z.object({
  name: z.string(),
  /** Delivered and not acknowledged. */
  pending: count,
  /** Not delivered yet; null when Redis cannot tell (after a trim or a deletion). */
  lag: count.nullable(),
  consumers: z.array(ConsumerStatus),
});
export type GroupStatus = z.infer<typeof GroupStatus>;

export const StreamStatus = z.object({
  stream: z.enum(STREAM_NAMES as [string, ...string[]]),
  key: z.string(),
  length: count,
  groups: z.array(GroupStatus),
});
export type StreamStatus = z.infer<typeof StreamStatus>;

export const PipelineStatus = z.object({
  at: count,
  streams: z.array(StreamStatus),
  deadLetters: count,
});
export type PipelineStatus = z.infer<typeof PipelineStatus>;

/** Files and bytes per second over one sampling interval, deployment-wide. */
export const ThroughputPoint = z.object({
  at: count,
  filesPerSecond: z.number().nonnegative(),
  bytesPerSecond: z.number().nonnegative(),
});
export type ThroughputPoint = z.infer<typeof ThroughputPoint>;

export const Throughput = z.object({ points: z.array(ThroughputPoint), intervalMs: count });
export type Throughput = z.infer<typeof Throughput>;

export const DeadLetterView = z.object({
  id: z.string(),
  key: z.string(),
  stream: z.string(),
  group: z.string(),
  /** The original entry's id on its stream, and how many times it was delivered. */
  entryId: z.string(),
  deliveries: count,
  reason: z.string(),
  deadAt: count,
  classId: z.string().optional(),
  /** Files of a jobs or results batch. */
  files: count.optional(),
  /** The original entry's type (file-jobs, file-results, class-completed). */
  type: z.string().optional(),
  /** Why the dead letter itself cannot be read, when it cannot. */
  error: z.string().optional(),
});
export type DeadLetterView = z.infer<typeof DeadLetterView>;

export const DeadLetterList = z.object({ deadLetters: z.array(DeadLetterView), total: count });
export type DeadLetterList = z.infer<typeof DeadLetterList>;

/** POST /api/dead-letters/retry and /purge: the ids to act on, or all of them. */
export const DeadLetterAction = z.union([
  z.object({
    ids: z
      .array(z.string().regex(/^\d+-\d+$/))
      .min(1)
      .max(10_000),
  }),
  z.object({ all: z.literal(true) }),
]);
export type DeadLetterAction = z.infer<typeof DeadLetterAction>;

export const DeadLetterActionResult = z.object({ selected: count, done: count });
export type DeadLetterActionResult = z.infer<typeof DeadLetterActionResult>;

/** Server-sent events on /api/events, by event name. */
export type DashboardEvents = {
  /** Classes whose progress changed (or that are new), as they are now. */
  classes: { classes: ClassSummary[] };
  /** A class reached its end (transferred or failed). */
  outcome: { classId: string; status: ClassSummary['status'] };
  pipeline: PipelineStatus;
  throughput: ThroughputPoint;
};
