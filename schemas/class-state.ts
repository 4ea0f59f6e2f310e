import { z } from 'zod';

const count = z.coerce.number().int().nonnegative().default(0);

/** The state of one class as kept in its meta hash; numbers arrive from Redis as strings. */
export const ClassState = z.object({
  classId: z.string(),
  manifestUrl: z.string(),
  dest: z.string().default(''),
  sourceBase: z.string().default(''),
  status: z.enum(['queued', 'transferring', 'transferred', 'failed']),
  eventId: z.string().default(''),
  traceparent: z.string().default(''),
  version: z.string().default(''),
  title: z.string().default(''),
  requestedAt: count,
  crawledAt: count,
  finishedAt: count,
  crawled: count,
  total: count,
  done: count,
  copied: count,
  skipped: count,
  failed: count,
  bytes: count,
  /** Copy attempts beyond the first, over every file counted. */
  retries: count,
  run: count,
  revision: count,
  published: count,
});
export type ClassState = z.infer<typeof ClassState>;
export type ClassStatus = ClassState['status'];

/** A class is finished when its last file landed and its outcome was published. */
export function isFinished(s: ClassState): boolean {
  return (
    (s.status === 'transferred' || s.status === 'failed') &&
    s.revision > 0 &&
    s.published >= s.revision
  );
}
