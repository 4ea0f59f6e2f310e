/**
 * The crawl of one HLS title (SPEC section 4): every file a player may need, and nothing else.
 *
 * Modules: `hls/references.ts` lists the URIs of one playlist (a line scan of our own; see there
 * what m3u8-parser misses), `hls/variables.ts` does EXT-X-DEFINE, `hls/uri-policy.ts` decides what
 * may be fetched, `hls/file-list.ts` keeps one file per destination key, `source-key.ts` makes keys.
 *
 * Decisions, each tested in test/consumers/crawl/hls-*.test.ts:
 * - Gaps: a segment after EXT-X-GAP (or a part with GAP=YES, or a preload hint of a live window)
 *   is not a file job; it is returned in `gaps` with its key, so a report can say it was allowed
 *   to be absent. Named elsewhere without a gap, it is a file.
 * - Not copied, and returned in `skipped` with the reason: key URIs of DRM systems (skd:// and any
 *   non-fetchable scheme), data: URIs of keys, maps and session data (inline), rendition reports,
 *   URIs in tags we do not know, and interstitials on another origin (ads; the title plays
 *   without them). EXT-X-CONTENT-STEERING is returned in `steering`; its server is not fetched.
 * - Conflicts: one destination key named by two different URLs (even if only the query differs:
 *   `key.php?r=52` and `key.php?r=53` are different keys) fails the class, naming both paths.
 * - Cycles: a playlist naming itself or a playlist above it (also through a redirect or an
 *   interstitial) fails the class with the chain; a playlist named twice elsewhere is one file.
 * - Live: a media playlist without EXT-X-ENDLIST, or a delta update (EXT-X-SKIP), fails the class
 *   unless `allowLive`, which copies the current window and lists the playlist in `live`.
 * - Redirects: a playlist's URIs resolve against its final URL, and its key comes from that URL,
 *   so relative URIs in the copy resolve the same way; its job still fetches the URL it was named by.
 * - Playlists are recognised by content (#EXTM3U first), whatever their name or Content-Type; the
 *   Content-Type only explains a body that is not HLS (an HTML error page, say).
 */
import { CrawlError, UnsafeUriError } from '../../schemas/errors.js';
import { FileList, type ClassFile, type FileKind } from './file-list.js';
import { assetListReferences } from './asset-list.js';
import {
  listReferences,
  PLAYLIST_ROLES,
  type PlaylistScan,
  type Reference,
  type ReferenceRole,
} from './references.js';
import { UriPolicy } from './uri-policy.js';
import { fetchAll, isHls } from './fetch-all.js';
import type { SkippedUri, WalkOptions, WalkResult } from './walk-types.js';
import type { Definitions } from './variables.js';
import { redactQuery, sourceKey } from './source-key.js';

export type { ClassFile, FileKind } from './file-list.js';
export type {
  FetchText,
  GapRef,
  SkippedUri,
  SteeringReport,
  WalkOptions,
  WalkResult,
} from './walk-types.js';
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
/** The playlist a reference was found in, and the level its playlists are queued on. */
type From = {
  task: Task;
  hop: Hop;
  finalUrl: string;
  at: string;
  next: Task[];
  endList: boolean;
  imports: Definitions | undefined;
};

/** One walk: the files found so far, what was queued, and what was reported. */
class ClassWalk {
  private readonly policy: UriPolicy;
  private readonly list = new FileList();
  private readonly result: Omit<WalkResult, 'files' | 'manifestKey'> = {
    skipped: [],
    gaps: [],
    steering: [],
    live: [],
  };
  private readonly maxPlaylists: number;
  private readonly requested = new Set<string>();
  private manifestKey: string | undefined;
  private fetched = 0;

  constructor(
    private readonly manifestUrl: string,
    private readonly o: WalkOptions,
  ) {
    this.policy = new UriPolicy(manifestUrl, o.allowedOrigins);
    this.maxPlaylists = o.maxPlaylists ?? 10_000;
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
    return next;
  }

  finish(): WalkResult {
    const { list, result } = this;
    // A gap whose file is also named without EXT-X-GAP is a file; each gap and skip is listed once.
    result.gaps = uniqueBy(
      result.gaps.filter((g) => !list.has(g.key)),
      (g) => g.key,
    );
    result.skipped = uniqueBy(result.skipped, (s) => `${s.uri} ${s.reason}`);
    return { files: list.files, manifestKey: this.manifestKey!, ...result };
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
    const max = this.o.maxPlaylistBytes;
    if (max !== undefined && Buffer.byteLength(text) > max) {
      throw new CrawlError(
        `playlist ${at} is larger than the limit of ${max} bytes (maxPlaylistBytes)`,
      );
    }
    const key = this.keyOf(finalUrl);
    assertNoCycle(task.lineage, key, finalUrl);
    this.manifestKey ??= key;
    const hop: Hop = { key, path: pathOf(finalUrl) };

    if (task.kind === 'asset-list') {
      if (!this.list.add({ url: task.url, key, kind: 'asset-list' }, finalUrl)) return;
      for (const ref of assetListReferences(text, finalUrl)) {
        const r = this.policy.resolve(ref, finalUrl);
        if ('skip' in r) this.result.skipped.push(skipped(ref, r.skip, finalUrl));
        else this.enqueue(next, task, hop, r.url, 'playlist');
      }
      return;
    }

    if (!isHls(text)) {
      const type = body.contentType ? `; Content-Type ${body.contentType}` : '';
      throw new CrawlError(`${at} is not an HLS playlist: it does not begin with #EXTM3U${type}`);
    }
    if (!this.list.add({ url: task.url, key, kind: 'playlist' }, finalUrl)) return;
    const scan = listReferences(text, finalUrl, {
      requestUrl: task.url,
      ...(task.imports ? { imports: task.imports } : {}),
    });
    if (scan.type === 'media') this.checkComplete(scan, key, at);
    const imports = scan.type === 'multivariant' ? scan.definitions : undefined;
    const from: From = { task, hop, finalUrl, at, next, endList: scan.endList, imports };
    for (const ref of scan.references) this.follow(ref, from);
  }

  /** A delta update always fails; a live window fails unless allowLive, which lists it. */
  private checkComplete(scan: PlaylistScan, key: string, at: string): void {
    if (scan.deltaUpdate)
      throw new CrawlError(`${at} is a delta update (EXT-X-SKIP): segments are left out`);
    if (scan.endList) return;
    if (!this.o.allowLive) {
      throw new CrawlError(
        `${at} is a live playlist (no EXT-X-ENDLIST): its segments are still being written; set allowLive to copy the current window`,
      );
    }
    this.result.live.push(key);
  }

  /** One reference of a playlist: reported, skipped, a gap, a playlist to queue, or a file. */
  private follow(ref: Reference, p: From): void {
    const { result } = this;
    if (ref.role === 'content-steering') {
      result.steering.push({
        serverUri: redactQuery(ref.url ?? ref.uri),
        ...(ref.detail ? { pathwayId: ref.detail } : {}),
        playlist: p.at,
      });
      return;
    }
    const reported = REPORTED[ref.role];
    if (reported) {
      result.skipped.push(skipped(ref, reported, p.finalUrl));
      return;
    }
    // A preload hint of a live window names the part the server is still writing: it may
    // never exist under that name, so it is allowed to be absent, like a gap.
    const gap = ref.gap === true || (ref.role === 'preload-hint' && !p.endList);
    const r = this.policy.resolve(ref, p.finalUrl, gap ? { gap: true } : {});
    if ('skip' in r) {
      result.skipped.push(skipped(ref, r.skip, p.finalUrl));
    } else if (gap) {
      result.gaps.push({ url: redactQuery(r.url), key: this.keyOf(r.url), playlist: p.at });
    } else if (PLAYLIST_ROLES.has(ref.role)) {
      this.enqueue(p.next, p.task, p.hop, r.url, 'playlist', p.imports);
    } else if (ref.role === 'asset-list') {
      this.enqueue(p.next, p.task, p.hop, r.url, 'asset-list');
    } else {
      const kind =
        ref.role === 'preload-hint' && ref.detail === 'MAP' ? 'init' : FILE_KINDS[ref.role]!;
      this.list.add({ url: r.url, key: this.keyOf(r.url), kind });
    }
  }

  /** Queues a playlist that `parent` names, unless queued already; a reference back up is a cycle. */
  private enqueue(
    next: Task[],
    parent: Task,
    parentHop: Hop,
    url: string,
    kind: Task['kind'],
    imports?: Definitions,
  ): void {
    const lineage = [...parent.lineage, parentHop];
    assertNoCycle(lineage, this.keyOf(url), url);
    if (this.requested.has(url)) return;
    this.requested.add(url);
    next.push({ url, kind, lineage, ...(imports ? { imports } : {}) });
  }

  private keyOf(url: string): string {
    return sourceKey(url, this.o.sourceBase);
  }
}

function uniqueBy<T>(items: T[], id: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => !seen.has(id(item)) && seen.add(id(item)) !== undefined);
}

function assertNoCycle(lineage: Task['lineage'], key: string, url: string): void {
  const at = lineage.findIndex((hop) => hop.key === key);
  if (at === -1) return;
  const chain = [...lineage.slice(at).map((hop) => hop.path), pathOf(url)].join(' -> ');
  throw new CrawlError(`playlist cycle: ${chain}`);
}

function skipped(
  ref: Pick<Reference, 'uri' | 'url' | 'tag' | 'line'>,
  reason: string,
  playlist: string,
): SkippedUri {
  const uri = ref.url ?? ref.uri;
  // A data: URI can be kilobytes of base64 (a PSSH box): its media type is enough to recognise it.
  const shown = /^data:/i.test(uri)
    ? `${uri.slice(0, Math.min(40, uri.indexOf(',') + 1 || 40))}…`
    : redactQuery(uri);
  return { uri: shown, reason, tag: ref.tag, playlist: redactQuery(playlist), line: ref.line };
}

function stripHash(url: string): string {
  const u = new URL(url);
  u.hash = '';
  return u.href;
}

function pathOf(url: string): string {
  return new URL(url).pathname;
}
