import { z } from 'zod';
import { ERROR_CODES } from './errors.js';

/**
 * Every stream entry, as the single source of its type. An entry is stored as the stream fields
 * `type`, `v`, `traceparent` and `data` (the JSON body): the first three stay readable with
 * redis-cli and let a reader route or skip an entry without parsing its body.
 */
export const SCHEMA_VERSION = 1;

/** A W3C traceparent: version, trace id, parent span id, flags (groups in that order). */
export const TRACEPARENT_PATTERN = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

const traceparent = z.string().regex(TRACEPARENT_PATTERN, 'a W3C traceparent');

const envelope = {
  v: z.literal(SCHEMA_VERSION),
  traceparent: traceparent.optional(),
};

export const ClassId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');

const httpOrS3Url = z
  .string()
  .max(8192)
  .refine((s) => /^(https?|s3):\/\//i.test(s), 'an http(s):// or s3:// URL');

export const DestUrl = z
  .string()
  .refine(
    (s) => /^(s3:\/\/[^/]+|file:\/\/\/)/.test(s),
    'an s3://bucket/prefix or file:///abs/dir URL',
  );

/** The run of a class: bumped when a new version of a finished class is requested. */
const run = z.number().int().positive();

/** A class to copy: from the webhook, the scanner or the CLI. */
export const ClassRequested = z.object({
  ...envelope,
  type: z.literal('class-completed'),
  eventId: z.string().min(1),
  classId: ClassId,
  manifestUrl: httpOrS3Url,
  title: z.string().max(1000).optional(),
  recordedAt: z.string().max(100).optional(),
  version: z.union([z.string().max(100), z.number()]).optional(),
  /** Where the class goes; when absent the stage's configured destination is used. */
  dest: DestUrl.optional(),
  /** Leading path of the source URL to drop from destination keys. */
  sourceBase: z.string().max(2048).optional(),
  /** The class run this request started (see FileJobs.run). */
  run,
  requestedAt: z.number().int(),
});
export type ClassRequested = z.infer<typeof ClassRequested>;

/** Most URLs that may name one destination key (one file; see JobFile.alsoAt). */
export const MAX_URLS_PER_KEY = 32;

/** One file of a class: `ordinal` is stable for the class (the crawl order). */
export const JobFile = z.object({
  ordinal: z.number().int().nonnegative(),
  /** The URL to fetch, query kept. */
  url: httpOrS3Url,
  /** The destination key below the destination prefix, query dropped. */
  key: z.string().min(1).max(1024),
  /**
   * Other URLs the class names this key by (another signed query, say). The file is copied once,
   * from `url`; each of these must serve the same bytes, or the file fails as a key conflict.
   */
  alsoAt: z
    .array(httpOrS3Url)
    .min(1)
    .max(MAX_URLS_PER_KEY - 1)
    .optional(),
});
export type JobFile = z.infer<typeof JobFile>;

/** Most files in one jobs or results entry. */
export const MAX_FILES_PER_ENTRY = 1000;

/**
 * A batch of files of one class to copy: one entry on `jobs`. Files travel in batches so that
 * the orchestration costs one stream entry per batch, not per file; each file keeps its own
 * outcome in the results.
 */
export const FileJobs = z.object({
  ...envelope,
  type: z.literal('file-jobs'),
  classId: ClassId,
  run,
  files: z.array(JobFile).min(1).max(MAX_FILES_PER_ENTRY),
});
export type FileJobs = z.infer<typeof FileJobs>;

const outcomeCommon = {
  ordinal: z.number().int().nonnegative(),
  key: z.string().min(1).max(1024),
  attempts: z.number().int().positive(),
};

/** The outcome of one file: the same type from the local runtime and from Lambda. */
export const FileOutcome = z.discriminatedUnion('status', [
  z.object({
    ...outcomeCommon,
    status: z.literal('copied'),
    bytes: z.number().int().nonnegative(),
    /** Hex MD5 of the bytes written, as sent to the destination. */
    md5: z.string().regex(/^[0-9a-f]{32}$/),
    etag: z.string().optional(),
  }),
  z.object({
    ...outcomeCommon,
    /** Already at the destination with the same size and checksum. */
    status: z.literal('skipped'),
    bytes: z.number().int().nonnegative(),
  }),
  z.object({
    ...outcomeCommon,
    status: z.literal('failed'),
    reason: z.string().max(2000),
    code: z.enum(ERROR_CODES),
  }),
]);
export type FileOutcome = z.infer<typeof FileOutcome>;

/** The outcomes of a batch of files of one class: one entry on `results`. */
export const FileResults = z.object({
  ...envelope,
  type: z.literal('file-results'),
  classId: ClassId,
  run,
  results: z.array(FileOutcome).min(1).max(MAX_FILES_PER_ENTRY),
});
export type FileResults = z.infer<typeof FileResults>;

export const Failure = z.object({ path: z.string(), reason: z.string() });
export type Failure = z.infer<typeof Failure>;

/** A class reached its end: every file tracked is copied, skipped or failed. */
export const ClassOutcome = z.object({
  ...envelope,
  type: z.enum(['class-transferred', 'class-failed']),
  classId: ClassId,
  manifestUrl: z.string(),
  dest: z.string(),
  files: z.number().int().nonnegative(),
  copied: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  failures: z.array(Failure),
  /** Copy attempts beyond the first, over every file. */
  retries: z.number().int().nonnegative(),
  startedAt: z.number().int(),
  finishedAt: z.number().int(),
  durationMs: z.number().int().nonnegative(),
  /** Bytes per second over the class's duration. */
  bytesPerSecond: z.number().nonnegative(),
  run,
  /** Bumped each time the class completes again (after a dead letter is retried, say). */
  revision: z.number().int().positive(),
});
export type ClassOutcome = z.infer<typeof ClassOutcome>;

/** An entry that could not be processed, kept with its history instead of vanishing. */
export const DeadLetter = z.object({
  ...envelope,
  type: z.literal('dead-letter'),
  stream: z.string(),
  group: z.string(),
  entryId: z.string(),
  deliveries: z.number().int().nonnegative(),
  reason: z.string(),
  /** The original entry's fields, verbatim, so that it can be retried as it was. */
  fields: z.record(z.string(), z.string()),
  deadAt: z.number().int(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

/** The schema of each logical stream, used on write and on read. */
export const StreamSchemas = {
  classes: ClassRequested,
  jobs: FileJobs,
  results: FileResults,
  outcomes: ClassOutcome,
  dead: DeadLetter,
} as const;
export type StreamName = keyof typeof StreamSchemas;
export type StreamEvent<S extends StreamName> = z.infer<(typeof StreamSchemas)[S]>;
export const STREAM_NAMES = Object.keys(StreamSchemas) as [StreamName, ...StreamName[]];
/** A logical stream name, as commands take it. */
export const StreamNameSchema = z.enum(STREAM_NAMES, {
  error: `expected one of ${STREAM_NAMES.join(', ')}`,
});
