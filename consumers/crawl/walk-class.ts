/**
 * The crawl of one HLS title (SPEC section 4): every file a player may need, and nothing else.
 *
 * Modules: `references.ts` lists the URIs of one playlist (a line scan of our own; see there what
 * m3u8-parser misses), `variables.ts` does EXT-X-DEFINE, `uri-policy.ts` decides what may be
 * fetched, `file-list.ts` keeps one file per destination key, `source-key.ts` makes keys and
 * `key-rules.ts` refuses the ones that bite later, `preload-hints.ts` asks about live hints,
 * `walk-report.ts` keeps what is reported rather than copied.
 *
 * Decisions, each tested in test/consumers/crawl/hls-*.test.ts:
 * - Limits (SPEC section 5): files per class, bytes crawled (with what EXT-X-DEFINE adds) and the
 *   length of one expanded URI fail the class with the reason; references are followed as their
 *   line is read, so memory is the file list, not the playlists' lines.
 * - Gaps: a segment after EXT-X-GAP (or a part with GAP=YES) is not a file job; it is returned in
 *   `gaps` with its key, so a report can say it was allowed to be absent. Named elsewhere without
 *   a gap, it is a file.
 * - Preload hints (EXT-X-PRELOAD-HINT, TYPE=PART or MAP) are files. In a live window the hinted
 *   part may not exist yet: the origin is asked (`probe`) once the level's playlists are read; a
 *   hint it serves is a file, one it refuses is returned in `gaps` with the reason (`absent`).
 * - Not copied, and returned in `skipped` with the reason: key URIs of DRM systems (skd:// and any
 *   non-fetchable scheme), data: URIs of keys, maps and session data (inline), rendition reports,
 *   URIs in tags we do not know, and interstitials on another origin (ads; the title plays
 *   without them). EXT-X-CONTENT-STEERING is returned in `steering`; its server is not fetched.
 * - One key, several URLs (a signed query, a CDN failover copy, relative and absolute): one file.
 *   Playlists must have the same text (or the class fails, naming both paths); a media file is
 *   copied once from its first URL and its job lists the others (`alsoAt`), which the copy checks
 *   serve the same bytes (`key.php?r=52` and `key.php?r=53` may not).
 * - Cycles: a playlist naming itself or a playlist above it (also through a redirect or an
 *   interstitial) fails the class with the chain; a playlist named twice elsewhere is one file.
 * - Live: a media playlist without EXT-X-ENDLIST fails the class unless `allowLive`, which copies
 *   the current window and lists the playlist in `live`. A delta update (EXT-X-SKIP) always fails:
 *   it leaves segments out, and only the full playlist names them.
 * - Redirects: a playlist's URIs resolve against its final URL, and its key comes from that URL,
 *   so relative URIs in the copy resolve the same way; its job still fetches the URL it was named by.
 * - Playlists are recognised by content (#EXTM3U first), whatever their name or Content-Type; the
 *   Content-Type only explains a body that is not HLS (an HTML error page, say).
 */
import { createHash } from 'node:crypto';
import { CrawlError, UnsafeUriError } from '../../schemas/errors.js';
import { FileList, type ClassFile, type FileKind } from './file-list.js';
import { assetListReferences } from './asset-list.js';
import {
  PLAYLIST_ROLES,
  scanReferences,
  type PlaylistSummary,
  type Reference,
  type ReferenceRole,
} from './references.js';
import { skipped, WalkReport } from './walk-report.js';
import { CRAWL_LIMITS } from '../../schemas/config.js';
import { UriPolicy } from './uri-policy.js';
import { fetchAll, isHls } from './fetch-all.js';
import { askOrigin, probeBy, type Hint } from './preload-hints.js';
import type { ProbeFile, WalkOptions, WalkResult } from './walk-types.js';
import type { Definitions } from './variables.js';
import { redactQuery, sourceKey } from './source-key.js';

export type { ClassFile, FileKind } from './file-list.js';
export type {
  FetchText,
  GapRef,
  ProbeFile,
  SkippedUri,
  SteeringReport,
  WalkOptions,
  WalkResult,
} from './walk-types.js';
export { probeBy } from './preload-hints.js';
export {
  listReferences,
  type PlaylistScan,
  type Reference,
  type ReferenceRole,
} from './references.js';

type Hop = { key: string; path: string };
type Task = {
  url: string;
  kind: 'playlist' | 'asset-list';
  /** The playlists above this one, the entry first: a reference back to one is a cycle. */
  lineage: readonly Hop[];
  imports?: Definitions;
};

const FILE_KINDS: Partial<Record<ReferenceRole, FileKind>> = {
  segment: 'segment',
  init: 'init',
  key: 'key',
  'session-key': 'key',
  'session-data': 'session-data',
  part: 'part',
  'preload-hint': 'preload-hint',
};
const REPORTED: Partial<Record<ReferenceRole, string>> = {
  'rendition-report': 'rendition report: names a playlist the multivariant playlist lists',
  unknown: 'URI in a tag colony does not know: not copied',
};

/**
 * Lists every file a class needs, starting at its manifest (SPEC section 4): the playlists, and
 * every segment, init segment, key, part, preload hint, session data and interstitial each names.
 * The order is deterministic (playlists breadth first, files in playlist order), so a re-crawl of
 * an unchanged class gives every file the same ordinal. A file named many times is listed once.
 *
 * Relative URIs resolve against the final URL (after redirects) of the playlist naming them, and a
 * playlist's key comes from that final URL too, so the copy's relative URIs resolve the same way.
 *
 * @throws UnsafeUriError for a URI outside the allowed origins or a key that could leave the
 *   prefix; CrawlError for a playlist that is not HLS, too large, live (without allowLive), a
 *   cycle, a key conflict, or unparseable; the fetcher's errors as they are.
 */
export async function walkClass(manifestUrl: string, o: WalkOptions): Promise<WalkResult> {
  const walk = new ClassWalk(manifestUrl, o);
  let level = [walk.root()];
  while (level.length > 0) level = await walk.visitLevel(level);
  return walk.finish();
}

type Fetched = Awaited<ReturnType<WalkOptions['fetchText']>>;
/** The playlist a reference was found in, the level its playlists are queued on, its hints. */
type From = {
  task: Task;
  hop: Hop;
  finalUrl: string;
  at: string;
  next: Task[];
  hints: Hint[];
};

/** One walk: the files found so far, what was queued, and what was reported. */
class ClassWalk {
  private readonly policy: UriPolicy;
  private readonly list: FileList;
  private readonly report: WalkReport;
  private readonly maxPlaylists: number;
  private readonly maxCrawlBytes: number;
  private crawledBytes = 0;
  private readonly requested = new Set<string>();
  private manifestKey: string | undefined;
  private fetched = 0;
  private hints: Hint[] = [];
  private readonly probe: ProbeFile;

  constructor(
    private readonly manifestUrl: string,
    private readonly o: WalkOptions,
  ) {
    this.policy = new UriPolicy(manifestUrl, o.allowedOrigins);
    this.maxPlaylists = o.maxPlaylists ?? 10_000;
    this.maxCrawlBytes = o.maxCrawlBytes ?? CRAWL_LIMITS.maxCrawlBytes;
    const maxFiles = o.maxFiles ?? CRAWL_LIMITS.maxFiles;
    this.list = new FileList(maxFiles);
    this.report = new WalkReport(maxFiles);
    this.probe = o.probe ?? probeBy(o.fetchText);
  }

  /** The manifest's task; a manifest the policy would not fetch fails the class. */
  root(): Task {
    const { manifestUrl } = this;
    const root = this.policy.resolve(
      { role: 'variant', tag: 'manifest', line: 0, uri: manifestUrl, url: manifestUrl },
      manifestUrl,
    );
    if (!('url' in root))
      throw new CrawlError(`manifest ${redactQuery(manifestUrl)} cannot be fetched: ${root.skip}`);
    this.requested.add(root.url);
    return { url: root.url, kind: 'playlist', lineage: [] };
  }

  /** Fetches one level of playlists (breadth first) and returns the next level. */
  async visitLevel(level: Task[]): Promise<Task[]> {
    this.fetched += level.length;
    if (this.fetched > this.maxPlaylists)
      throw new CrawlError(`more than ${this.maxPlaylists} playlists in one class (maxPlaylists)`);
    const bodies = await fetchAll(
      level.map((t) => t.url),
      this.o.fetchText,
      this.o.concurrency ?? 8,
    );
    const next: Task[] = [];
    for (const [i, task] of level.entries()) {
      const body = bodies[i]!;
      if ('error' in body) throw body.error;
      this.visit(task, body.value, next);
    }
    await this.probeHints();
    return next;
  }

  /** Lists the preload hints of this level that the origin serves; records the others. */
  private async probeHints(): Promise<void> {
    const hints = this.hints.filter((h) => !this.list.has(h.key));
    this.hints = [];
    for (const { hint, absent } of await askOrigin(hints, this.probe, this.o.concurrency ?? 8)) {
      const { url, key, kind, playlist } = hint;
      if (absent === undefined) this.list.add({ url, key, kind });
      else this.report.gap({ url: redactQuery(url), key, playlist, absent });
    }
  }

  finish(): WalkResult {
    const { list } = this;
    return { files: list.files, manifestKey: this.manifestKey!, ...this.report.result(list) };
  }

  private visit(task: Task, body: Fetched, next: Task[]): void {
    const finalUrl = stripHash(body.finalUrl);
    const at = redactQuery(finalUrl);
    if (!this.policy.allows(finalUrl)) {
      throw new UnsafeUriError(
        `${redactQuery(task.url)} was redirected to ${at}, outside the allowed origins`,
      );
    }
    const { text } = body;
    const bytes = Buffer.byteLength(text);
    const max = this.o.maxPlaylistBytes;
    if (max !== undefined && bytes > max) {
      throw new CrawlError(
        `playlist ${at} is larger than the limit of ${max} bytes (maxPlaylistBytes)`,
      );
    }
    this.spend(bytes, at);
    const key = this.keyOf(finalUrl);
    assertNoCycle(task.lineage, key, finalUrl);
    this.manifestKey ??= key;
    const hop: Hop = { key, path: pathOf(finalUrl) };

    if (task.kind === 'asset-list') {
      if (!this.list.add({ url: task.url, key, kind: 'asset-list' }, finalUrl, digest(text)))
        return;
      for (const ref of assetListReferences(text, finalUrl)) {
        const r = this.policy.resolve(ref, finalUrl);
        if ('skip' in r) this.report.skip(skipped(ref, r.skip, finalUrl));
        else this.enqueue(next, task, hop, r.url, 'playlist');
      }
      return;
    }

    if (!isHls(text)) {
      const type = body.contentType ? `; Content-Type ${body.contentType}` : '';
      throw new CrawlError(`${at} is not an HLS playlist: it does not begin with #EXTM3U${type}`);
    }
    if (!this.list.add({ url: task.url, key, kind: 'playlist' }, finalUrl, digest(text))) return;
    this.scan(text, { task, hop, finalUrl, at, next, hints: [] }, key);
  }

  /**
   * Follows each reference of a playlist as its line is read, so that the memory of a crawl is
   * its file list, not every line of every playlist; what needs the whole playlist comes after.
   */
  private scan(text: string, from: From, key: string): void {
    const queuedBefore = from.next.length;
    const summary = scanReferences(
      text,
      from.finalUrl,
      {
        requestUrl: from.task.url,
        ...(from.task.imports ? { imports: from.task.imports } : {}),
        maxUriLength: this.o.maxUriLength ?? CRAWL_LIMITS.maxUriLength,
        onExpand: (added, line) => this.spend(added, `${from.at} line ${line}`),
      },
      (ref) => this.follow(ref, from),
    );
    if (summary.type === 'media') this.checkComplete(summary, key, from.at);
    // Variables of a multivariant playlist reach the playlists it names (EXT-X-DEFINE IMPORT).
    if (summary.type === 'multivariant') {
      for (const task of from.next.slice(queuedBefore)) task.imports = summary.definitions;
    }
    // A hint of a live window names a part the origin may still be writing: asked about later.
    if (summary.endList) {
      for (const { url, key, kind } of from.hints) this.list.add({ url, key, kind });
    } else this.hints.push(...from.hints);
  }

  /** Counts bytes a class's crawl reads or expands to; past the limit, the class fails. */
  private spend(bytes: number, at: string): void {
    this.crawledBytes += bytes;
    if (this.crawledBytes > this.maxCrawlBytes) {
      throw new CrawlError(
        `the playlists of this class amount to more than ${this.maxCrawlBytes} bytes with their variables substituted, at ${at} (COLONY_MAX_CRAWL_BYTES)`,
      );
    }
  }

  /** A delta update always fails; a live window fails unless allowLive, which lists it. */
  private checkComplete(scan: PlaylistSummary, key: string, at: string): void {
    if (scan.deltaUpdate) {
      throw new CrawlError(
        `${at} is a delta update (EXT-X-SKIP): it leaves segments out, even for a live copy; give colony the full playlist (a URL without _HLS_skip, from an origin that serves the full form)`,
      );
    }
    if (scan.endList) return;
    if (!this.o.allowLive) {
      throw new CrawlError(
        `${at} is a live playlist (no EXT-X-ENDLIST): its segments are still being written; set allowLive to copy the current window`,
      );
    }
    this.report.markLive(key);
  }

  /** One reference of a playlist: reported, skipped, a gap, a playlist to queue, or a file. */
  private follow(ref: Reference, p: From): void {
    const { report } = this;
    if (ref.role === 'content-steering') {
      report.steer({
        serverUri: redactQuery(ref.url ?? ref.uri),
        ...(ref.detail ? { pathwayId: ref.detail } : {}),
        playlist: p.at,
      });
      return;
    }
    const reported = REPORTED[ref.role];
    if (reported) {
      report.skip(skipped(ref, reported, p.finalUrl));
      return;
    }
    const gap = ref.gap === true;
    const r = this.policy.resolve(ref, p.finalUrl, gap ? { gap: true } : {});
    if ('skip' in r) {
      report.skip(skipped(ref, r.skip, p.finalUrl));
    } else if (gap) {
      report.gap({ url: redactQuery(r.url), key: this.keyOf(r.url), playlist: p.at });
    } else if (PLAYLIST_ROLES.has(ref.role)) {
      this.enqueue(p.next, p.task, p.hop, r.url, 'playlist');
    } else if (ref.role === 'asset-list') {
      this.enqueue(p.next, p.task, p.hop, r.url, 'asset-list');
    } else {
      const kind =
        ref.role === 'preload-hint' && ref.detail === 'MAP' ? 'init' : FILE_KINDS[ref.role]!;
      const file = { url: r.url, key: this.keyOf(r.url), kind };
      if (ref.role === 'preload-hint') p.hints.push({ ...file, playlist: p.at });
      else this.list.add(file);
    }
  }

  /** Queues a playlist that `parent` names, unless queued already; a reference back up is a cycle. */
  private enqueue(
    next: Task[],
    parent: Task,
    parentHop: Hop,
    url: string,
    kind: Task['kind'],
  ): void {
    const lineage = [...parent.lineage, parentHop];
    assertNoCycle(lineage, this.keyOf(url), url);
    if (this.requested.has(url)) return;
    this.requested.add(url);
    next.push({ url, kind, lineage });
  }

  private keyOf(url: string): string {
    return sourceKey(url, this.o.sourceBase);
  }
}

/** What a playlist's text is compared by when another URL serves its key again. */
function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

function assertNoCycle(lineage: Task['lineage'], key: string, url: string): void {
  const at = lineage.findIndex((hop) => hop.key === key);
  if (at === -1) return;
  const chain = [...lineage.slice(at).map((hop) => hop.path), pathOf(url)].join(' -> ');
  throw new CrawlError(`playlist cycle: ${chain}`);
}

function stripHash(url: string): string {
  const u = new URL(url);
  u.hash = '';
  return u.href;
}

function pathOf(url: string): string {
  return new URL(url).pathname;
}
