import type { ClassRequested, FileJobs, FileOutcome, FileResults } from '../schemas/events.js';
import { MAX_FILES_PER_ENTRY, SCHEMA_VERSION } from '../schemas/events.js';
import { ColonyError, ErrorCode, describeError } from '../schemas/errors.js';
import { CRAWL_BACKOFF, backoffDelay, retryAfterOf, sleep } from '../copy/backoff.js';
import type { BatchVerdict, Delivery } from '../streams/group-runner.js';
import { runInDeliverySpan } from '../streams/telemetry.js';
import { childTraceparent } from '../streams/trace.js';
import {
  walkClass,
  type ClassFile,
  type FetchText,
  type ProbeFile,
  type WalkResult,
} from './crawl/walk-class.js';
import { redactQuery, sourceKey } from './crawl/source-key.js';
import type { StageDeps } from './stage-deps.js';

export const CRAWLER_GROUP = 'crawler';

export type CrawlerOptions = {
  fetchText: FetchText;
  /** Asks the origin whether it serves a live preload hint (see walkClass); default fetchText. */
  probe?: ProbeFile;
  /** Fetch attempts per playlist for transient errors before the class is handed back. */
  attempts?: number;
  /** Copy the current window of live playlists instead of failing the class (see walkClass). */
  allowLive?: boolean;
};

/**
 * The crawler stage: turns a requested class into one job per file. The file count is fixed
 * before any job is published and the class is marked crawled only after the last one is, so a
 * crawler killed half way leaves its class entry pending, and the re-crawl that follows gives
 * every file the same ordinal: duplicates of jobs are absorbed downstream.
 */
export function crawlerHandler(deps: StageDeps, o: CrawlerOptions) {
  const fetchText = retryingFetch(o.fetchText, o.attempts ?? 3);
  const probe = o.probe && retryingFetch(o.probe, o.attempts ?? 3);

  // The last error of each class entry being retried here, so that a crawl that never finishes
  // fails with its cause (a refused connection, say), not only with its delivery count. Another
  // process may hold the entry's last delivery; then only the count is known.
  const lastErrors = new Map<string, string>();
  const remember = (id: string, error: string): void => {
    lastErrors.delete(id);
    lastErrors.set(id, error);
    if (lastErrors.size > 1000) lastErrors.delete(lastErrors.keys().next().value!);
  };

  async function crawl(entry: ClassRequested): Promise<void> {
    const { classes, publisher, logger, config } = deps;
    const state = await stateOf(deps, entry);
    // A request of an earlier run, or a class crawled already: nothing left to do.
    if (!state || state.crawled || state.run !== entry.run) return;
    if (!state.dest) {
      await failClass(entry, 'no destination: the request named none and COLONY_DEST is not set');
      return;
    }
    const started = Date.now();
    let files;
    try {
      const walk = await walkClass(entry.manifestUrl, {
        fetchText,
        ...(probe ? { probe } : {}),
        allowedOrigins: config.allowedOrigins,
        sourceBase: state.sourceBase || undefined,
        maxPlaylistBytes: config.maxPlaylistBytes,
        maxFiles: config.maxFilesPerClass,
        maxCrawlBytes: config.maxCrawlBytes,
        maxUriLength: config.maxUriLength,
        allowLive: o.allowLive ?? false,
      });
      files = walk.files;
      logWalk(logger, entry.classId, walk);
    } catch (err) {
      if (err instanceof ColonyError && err.retryable) throw err;
      await failClass(entry, `crawl failed: ${describeError(err)}`);
      return;
    }
    const total = await classes.registerCrawl(entry.classId, files.length);
    const batches = jobEntries(entry, files.slice(0, total), config.batchSize);
    await publisher.publish('jobs', batches);
    if (total > files.length) {
      // The manifest lists fewer files than the first crawl did: the missing ones fail, so the
      // class ends instead of waiting forever.
      await publisher.publish('results', resultEntries(entry, unlisted(files.length, total)));
    }
    await classes.markCrawled(entry.classId);
    logger.info('class crawled', {
      class_id: entry.classId,
      files: files.length,
      batches: batches.length,
      duration_ms: Date.now() - started,
    });
  }

  /** A class that cannot be crawled fails as one failed file: its manifest, with the reason. */
  async function failClass(entry: ClassRequested, reason: string): Promise<void> {
    deps.logger.warn('class failed', { class_id: entry.classId, reason });
    const total = await deps.classes.registerCrawl(entry.classId, 1);
    let manifestKey: string;
    try {
      manifestKey = sourceKey(entry.manifestUrl, entry.sourceBase);
    } catch {
      manifestKey = redactQuery(entry.manifestUrl);
    }
    const outcomes = Array.from({ length: total }, (_, ordinal) =>
      failedOutcome(ordinal, ordinal === 0 ? manifestKey : `#${ordinal}`, reason),
    );
    await deps.publisher.publish('results', resultEntries(entry, outcomes));
    await deps.classes.markCrawled(entry.classId);
  }

  return {
    async handle(batch: Delivery<ClassRequested>[]): Promise<BatchVerdict> {
      await Promise.all(
        batch.map((d) =>
          runInDeliverySpan(d, async () => {
            try {
              await crawl(d.event);
              lastErrors.delete(d.id);
            } catch (err) {
              remember(d.id, describeError(err));
              throw err;
            }
          }),
        ),
      );
    },
    /** A class whose crawl kept failing fails with its cause instead of vanishing. */
    async beforeDeadLetter(d: Delivery<ClassRequested>, reason: string): Promise<void> {
      const cause = lastErrors.get(d.id);
      lastErrors.delete(d.id);
      await failClass(d.event, `crawl did not finish: ${cause ? `${cause} (${reason})` : reason}`);
    },
  };
}

/** Fetches a playlist (or probes a file), retrying transient errors with the crawl backoff. */
function retryingFetch<R>(fetch: (url: string) => Promise<R>, attempts: number) {
  return async (url: string): Promise<R> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fetch(url);
      } catch (err) {
        const retryable = err instanceof ColonyError ? err.retryable : true;
        if (!retryable || attempt >= attempts) throw err;
        await sleep(backoffDelay(attempt, CRAWL_BACKOFF, retryAfterOf(err)));
      }
    }
  };
}

/** The class's state, created first for an entry published straight onto the stream. */
async function stateOf(deps: StageDeps, entry: ClassRequested) {
  const { classes, config } = deps;
  const state = await classes.get(entry.classId);
  if (state) return state;
  await classes.request({
    classId: entry.classId,
    manifestUrl: entry.manifestUrl,
    dest: entry.dest ?? config.dest ?? '',
    sourceBase: entry.sourceBase,
    eventId: entry.eventId,
    traceparent: entry.traceparent ?? '',
    version: entry.version === undefined ? undefined : String(entry.version),
    title: entry.title,
  });
  return classes.get(entry.classId);
}

/** What was deliberately not copied is logged with the reason (URLs without their query). */
function logWalk(logger: StageDeps['logger'], class_id: string, walk: WalkResult): void {
  for (const s of walk.skipped.slice(0, 20))
    logger.info('URI not copied', { class_id, uri: s.uri, tag: s.tag, reason: s.reason });
  if (walk.skipped.length > 20)
    logger.info('more URIs not copied', { class_id, count: walk.skipped.length - 20 });
  for (const s of walk.steering)
    logger.info('content steering server reported, not copied', {
      class_id,
      server_uri: s.serverUri,
    });
  const absent = walk.gaps.filter((g) => g.absent !== undefined);
  for (const g of absent.slice(0, 20))
    logger.info('preload hint not served yet, not copied', {
      class_id,
      url: g.url,
      reason: g.absent,
    });
  if (absent.length > 20)
    logger.info('more preload hints not served yet', { class_id, count: absent.length - 20 });
  const gaps = walk.gaps.length - absent.length;
  if (gaps > 0)
    logger.info('EXT-X-GAP segments allowed to be absent', { class_id, segments: gaps });
}

/** One jobs entry per batch of files: the transfer stage takes a batch as one delivery. */
function jobEntries(entry: ClassRequested, files: ClassFile[], batchSize: number): FileJobs[] {
  const traceparent = childTraceparent(entry.traceparent);
  const batches: FileJobs[] = [];
  for (let start = 0; start < files.length; start += batchSize) {
    batches.push({
      type: 'file-jobs',
      v: SCHEMA_VERSION,
      traceparent,
      classId: entry.classId,
      run: entry.run,
      files: files.slice(start, start + batchSize).map((f, i) => ({
        ordinal: start + i,
        url: f.url,
        key: f.key,
        ...(f.alsoAt ? { alsoAt: f.alsoAt } : {}),
      })),
    });
  }
  return batches;
}

/** Failed outcomes for the ordinals a re-crawl no longer lists. */
function unlisted(from: number, total: number): FileOutcome[] {
  const missing: FileOutcome[] = [];
  for (let ordinal = from; ordinal < total; ordinal++) {
    missing.push(
      failedOutcome(ordinal, `#${ordinal}`, 'no longer listed by the manifest on re-crawl'),
    );
  }
  return missing;
}

function failedOutcome(ordinal: number, key: string, reason: string): FileOutcome {
  return {
    ordinal,
    key: key || 'manifest',
    attempts: 1,
    status: 'failed',
    reason,
    code: ErrorCode.Crawl,
  };
}

/** Results entries of a class, at most MAX_FILES_PER_ENTRY outcomes each. */
function resultEntries(entry: ClassRequested, outcomes: FileOutcome[]): FileResults[] {
  const out: FileResults[] = [];
  const traceparent = childTraceparent(entry.traceparent);
  for (let start = 0; start < outcomes.length; start += MAX_FILES_PER_ENTRY) {
    out.push({
      type: 'file-results',
      v: SCHEMA_VERSION,
      traceparent,
      classId: entry.classId,
      run: entry.run,
      results: outcomes.slice(start, start + MAX_FILES_PER_ENTRY),
    });
  }
  return out;
}
