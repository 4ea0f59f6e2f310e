import { z } from 'zod';
import { ClassId } from './events.js';

/** The `class-completed` webhook body a studio sends (SPEC section 5). */
export const ClassCompletedBody = z.object({
  classId: ClassId,
  manifestUrl: z
    .string()
    .max(8192)
    .refine((s) => {
      try {
        const u = new URL(s);
        return (
          (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 's3:') &&
          u.host !== ''
        );
      } catch {
        return false;
      }
    }, 'an http(s):// or s3:// URL'),
  title: z.string().max(1000).optional(),
  recordedAt: z.string().max(100).optional(),
  version: z.union([z.string().min(1).max(100), z.number().int().nonnegative()]).optional(),
  test: z.boolean().optional(),
  aborted: z.boolean().optional(),
});
export type ClassCompletedBody = z.infer<typeof ClassCompletedBody>;

/** Largest body the webhook reads; larger ones are answered 413 without being read whole. */
export const WEBHOOK_MAX_BODY_BYTES = 64 * 1024;
/** How old a signature's timestamp may be, either way, before it is refused as a replay. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;
