import { z } from 'zod';
import { ClassId, DestUrl, FileOutcome, JobFile } from './events.js';

/**
 * The payload of one invocation of the copy function and its answer: the contract between the
 * transfer stage (consumers/runtimes/lambda-runtime.ts) and the handler (lambda/handler.ts), validated on
 * both sides.
 */
export const LAMBDA_PAYLOAD_VERSION = 1;

/** Most files in one invocation. */
export const MAX_FILES_PER_INVOCATION = 100;

const MiB = 1024 * 1024;

export const CopyInvocation = z.object({
  v: z.literal(LAMBDA_PAYLOAD_VERSION),
  /** The class and run the files belong to, for the function's logs, when the caller knows them. */
  classId: ClassId.optional(),
  run: z.number().int().positive().optional(),
  /** Where the class goes: `s3://bucket/prefix` or `file:///abs/dir`. */
  dest: DestUrl,
  /** Leading path stripped from destination keys; the keys in `files` already have it applied. */
  sourceBase: z.string().max(2048).optional(),
  files: z.array(JobFile).min(1).max(MAX_FILES_PER_INVOCATION),
  /** Copy attempts per file before it is failed. */
  attempts: z.number().int().min(1).max(100),
  /** Connect, header and body-idle timeout of one copy. */
  timeoutMs: z.number().int().min(100).max(900_000),
  /** Copies in flight inside the invocation. */
  concurrency: z.number().int().min(1).max(1024),
  /**
   * Time the caller waits for the answer: copies still running near its end are stopped and
   * reported failed with code E_ABORTED, so the caller can retry them instead of timing out.
   */
  budgetMs: z.number().int().min(1000).max(900_000).optional(),
  s3: z
    .object({
      endpoint: z.string().url().optional(),
      forcePathStyle: z.boolean().optional(),
    })
    .default({}),
  /** Origins besides a file's own that an HTTP redirect may lead to. */
  allowedOrigins: z.array(z.string().max(2048)).max(100).default([]),
  cacheControl: z
    .string()
    .max(256)
    .regex(/^[\x20-\x7e]+$/)
    .optional(),
  skipExisting: z.boolean().default(false),
  multipart: z
    .object({
      thresholdBytes: z
        .number()
        .int()
        .min(5 * MiB),
      partBytes: z
        .number()
        .int()
        .min(5 * MiB)
        .max(5 * 1024 * MiB),
    })
    .optional(),
});
/** What the handler accepts (defaults filled in). */
export type CopyInvocation = z.infer<typeof CopyInvocation>;
/** What the caller sends (defaults may be left out). */
export type CopyInvocationInput = z.input<typeof CopyInvocation>;

/** The handler's answer: one outcome per file sent, the same type the local runtime returns. */
export const CopyInvocationResult = z.object({
  results: z.array(FileOutcome).min(1).max(MAX_FILES_PER_INVOCATION),
});
export type CopyInvocationResult = z.infer<typeof CopyInvocationResult>;
