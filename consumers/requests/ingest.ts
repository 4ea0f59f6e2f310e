import { createHash, randomUUID } from 'node:crypto';
import { ClassRequested, SCHEMA_VERSION } from '../../schemas/events.js';
import type { ClassStore } from '../../streams/class-store.js';
import type { EventPublisher } from '../../streams/publisher.js';
import { TelemetryAttributes, rootTraceparent } from '../../streams/telemetry.js';

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
  /** queued: enqueued now; pending: already on its way; finished: transferred or failed already;
   * conflict: another version of the class is on its way. */
  state: 'queued' | 'pending' | 'finished' | 'conflict';
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

/** How long a class may sit queued before a repeated request presumes its entry lost. */
export const QUEUED_PRESUMED_LOST_MS = 60_000;

/**
 * Requests a class idempotently per (class, version): the first request creates the run and
 * enqueues it on `classes`; the same request again enqueues nothing. The one exception is a
 * class still queued long after its request: a crash may have come between creating the run and
 * enqueuing it, so it is enqueued again (a duplicate entry costs nothing: the crawler skips a
 * class it crawled).
 */
export async function requestClass(
  classes: ClassStore,
  publisher: EventPublisher,
  req: ClassRequest,
  options: {
    presumeLostAfterMs?: number;
    /** The span the request arrived in (the webhook's SERVER span): the class's trace starts there. */
    traceparent?: string | undefined;
  } = {},
): Promise<RequestReceipt> {
  const traceparent =
    options.traceparent ??
    rootTraceparent('request class', { [TelemetryAttributes.ClassId]: req.classId });
  const answer = await classes.request({
    classId: req.classId,
    manifestUrl: req.manifestUrl,
    dest: req.dest,
    sourceBase: req.sourceBase,
    eventId: randomUUID(),
    traceparent,
    version: req.version === undefined ? undefined : String(req.version),
    title: req.title,
  });
  const receipt = (state: RequestReceipt['state']) => ({
    classId: req.classId,
    eventId: answer.eventId,
    state,
  });
  if (answer.kind === 'conflict') return receipt('conflict');
  if (answer.status === 'transferred' || answer.status === 'failed') return receipt('finished');
  if (answer.kind === 'duplicate') {
    if (answer.status !== 'queued') return receipt('pending');
    const state = await classes.get(req.classId);
    const lostAfter = options.presumeLostAfterMs ?? QUEUED_PRESUMED_LOST_MS;
    if (!state || Date.now() - state.requestedAt < lostAfter) return receipt('pending');
  }
  const entry = ClassRequested.parse({
    type: 'class-completed',
    v: SCHEMA_VERSION,
    traceparent,
    eventId: answer.eventId,
    classId: req.classId,
    manifestUrl: req.manifestUrl,
    dest: req.dest,
    ...(req.sourceBase ? { sourceBase: req.sourceBase } : {}),
    ...(req.title ? { title: req.title } : {}),
    ...(req.version !== undefined ? { version: req.version } : {}),
    ...(req.recordedAt ? { recordedAt: req.recordedAt } : {}),
    run: answer.run,
    requestedAt: Date.now(),
  });
  await publisher.publish('classes', [entry]);
  return receipt(answer.kind === 'new' ? 'queued' : 'pending');
}
