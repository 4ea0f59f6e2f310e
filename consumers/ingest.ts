import { createHash, randomUUID } from 'node:crypto';
import { ClassRequested, SCHEMA_VERSION } from '../schemas/events.js';
import type { ClassStore } from '../streams/class-store.js';
import type { EventPublisher } from '../streams/publisher.js';
import { newTraceparent } from '../streams/trace.js';

export type ClassRequest = {
  classId: string;
  manifestUrl: string;
  dest: string;
  sourceBase?: string | undefined;
  title?: string | undefined;
  version?: string | number | undefined;
  recordedAt?: string | undefined;
};

export type RequestReceipt = {
  classId: string;
  eventId: string;
  /** queued: enqueued now; pending: already on its way; finished: already transferred or failed. */
  state: 'queued' | 'pending' | 'finished';
};

/**
 * A stable class id for a manifest and destination: the same command run again names the same
 * class, which is what lets `colony transfer` resume. Readable prefix, hashed suffix.
 */
export function classIdFor(manifestUrl: string, dest: string): string {
  const hash = createHash('sha256').update(`${manifestUrl}\n${dest}`).digest('hex').slice(0, 12);
  const path = new URL(manifestUrl).pathname.split('/').filter(Boolean);
  const slug = path
    .slice(-2)
    .join('.')
    .replace(/\.m3u8$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(-48);
  return slug ? `${slug}-${hash}` : `class-${hash}`;
}

/**
 * Requests a class idempotently: the first request creates its state and enqueues it on
 * `classes`; later requests enqueue nothing, unless the class is still queued (a crash may have
 * come between creating the state and enqueuing, and a duplicate entry costs nothing).
 */
export async function requestClass(
  classes: ClassStore,
  publisher: EventPublisher,
  req: ClassRequest,
): Promise<RequestReceipt> {
  const traceparent = newTraceparent();
  const eventId = randomUUID();
  const first = await classes.request({
    classId: req.classId,
    manifestUrl: req.manifestUrl,
    dest: req.dest,
    sourceBase: req.sourceBase,
    eventId,
    traceparent,
    version: req.version === undefined ? undefined : String(req.version),
    title: req.title,
  });
  if (first.status === 'transferred' || first.status === 'failed') {
    return { classId: req.classId, eventId: first.eventId, state: 'finished' };
  }
  if (!first.created && first.status !== 'queued') {
    return { classId: req.classId, eventId: first.eventId, state: 'pending' };
  }
  const entry = ClassRequested.parse({
    type: 'class-completed',
    v: SCHEMA_VERSION,
    traceparent,
    eventId: first.eventId,
    classId: req.classId,
    manifestUrl: req.manifestUrl,
    dest: req.dest,
    ...(req.sourceBase ? { sourceBase: req.sourceBase } : {}),
    ...(req.title ? { title: req.title } : {}),
    ...(req.version !== undefined ? { version: req.version } : {}),
    ...(req.recordedAt ? { recordedAt: req.recordedAt } : {}),
    requestedAt: Date.now(),
  });
  await publisher.publish('classes', [entry]);
  return { classId: req.classId, eventId: first.eventId, state: first.created ? 'queued' : 'pending' };
}
