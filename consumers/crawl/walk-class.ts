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
  const policy = new UriPolicy(manifestUrl, o.allowedOrigins);
  const list = new FileList();
  const result: Omit<WalkResult, 'files' | 'manifestKey'> = {
    skipped: [],
    gaps: [],
    steering: [],
    live: [],
  };
  const maxPlaylists = o.maxPlaylists ?? 10_000;
  const requested = new Set<string>();
  const keyOf = (url: string) => sourceKey(url, o.sourceBase);
  let manifestKey: string | undefined;
  let fetched = 0;

  const root = policy.resolve(
    { role: 'variant', tag: 'manifest', line: 0, uri: manifestUrl, url: manifestUrl },
    manifestUrl,
  );
  if (!('url' in root))
    throw new CrawlError(`manifest ${redactQuery(manifestUrl)} cannot be fetched: ${root.skip}`);
  let level: Task[] = [{ url: root.url, kind: 'playlist', lineage: [] }];
  requested.add(root.url);

  /** Queues a playlist that `parent` names, unless queued already; a reference back up is a cycle. */
  const enqueue = (
    next: Task[],
    parent: Task,
    parentHop: Hop,
    url: string,
    kind: Task['kind'],
    imports?: Definitions,
  ) => {
    const lineage = [...parent.lineage, parentHop];
    assertNoCycle(lineage, keyOf(url), url);
    if (requested.has(url)) return;
    requested.add(url);
    next.push({ url, kind, lineage, ...(imports ? { imports } : {}) });
  };

  while (level.length > 0) {
    fetched += level.length;
    if (fetched > maxPlaylists)
      throw new CrawlError(`more than ${maxPlaylists} playlists in one class (maxPlaylists)`);
    const bodies = await fetchAll(
      level.map((t) => t.url),
      o.fetchText,
      o.concurrency ?? 8,
    );
    const next: Task[] = [];
    for (const [i, task] of level.entries()) {
      const body = bodies[i]!;
      if ('error' in body) throw body.error;
      const finalUrl = stripHash(body.value.finalUrl);
      const at = redactQuery(finalUrl);
      if (!policy.allows(finalUrl)) {
        throw new UnsafeUriError(
          `${redactQuery(task.url)} was redirected to ${at}, outside the allowed origins`,
        );
      }
      const { text } = body.value;
      if (o.maxPlaylistBytes !== undefined && Buffer.byteLength(text) > o.maxPlaylistBytes) {
        throw new CrawlError(
          `playlist ${at} is larger than the limit of ${o.maxPlaylistBytes} bytes (maxPlaylistBytes)`,
        );
      }
      const key = keyOf(finalUrl);
      assertNoCycle(task.lineage, key, finalUrl);
      manifestKey ??= key;
      const hop: Hop = { key, path: pathOf(finalUrl) };

      if (task.kind === 'asset-list') {
        if (!list.add({ url: task.url, key, kind: 'asset-list' }, finalUrl)) continue;
        for (const ref of assetListReferences(text, finalUrl)) {
          const r = policy.resolve(ref, finalUrl);
          if ('skip' in r) result.skipped.push(skipped(ref, r.skip, finalUrl));
          else enqueue(next, task, hop, r.url, 'playlist');
        }
        continue;
      }

      if (!isHls(text)) {
        const type = body.value.contentType ? `; Content-Type ${body.value.contentType}` : '';
        throw new CrawlError(`${at} is not an HLS playlist: it does not begin with #EXTM3U${type}`);
      }
      if (!list.add({ url: task.url, key, kind: 'playlist' }, finalUrl)) continue;
      const scan = listReferences(text, finalUrl, {
        requestUrl: task.url,
        ...(task.imports ? { imports: task.imports } : {}),
      });
      if (scan.type === 'media') {
        if (scan.deltaUpdate)
          throw new CrawlError(`${at} is a delta update (EXT-X-SKIP): segments are left out`);
        if (!scan.endList) {
          if (!o.allowLive) {
            throw new CrawlError(
              `${at} is a live playlist (no EXT-X-ENDLIST): its segments are still being written; set allowLive to copy the current window`,
            );
          }
          result.live.push(key);
        }
      }
      const imports = scan.type === 'multivariant' ? scan.definitions : undefined;
      for (const ref of scan.references) {
        if (ref.role === 'content-steering') {
          result.steering.push({
            serverUri: redactQuery(ref.url ?? ref.uri),
            ...(ref.detail ? { pathwayId: ref.detail } : {}),
            playlist: at,
          });
          continue;
        }
        const reported = REPORTED[ref.role];
        if (reported) {
          result.skipped.push(skipped(ref, reported, finalUrl));
          continue;
        }
        // A preload hint of a live window names the part the server is still writing: it may
        // never exist under that name, so it is allowed to be absent, like a gap.
        const gap = ref.gap === true || (ref.role === 'preload-hint' && !scan.endList);
        const r = policy.resolve(ref, finalUrl, gap ? { gap: true } : {});
        if ('skip' in r) {
          result.skipped.push(skipped(ref, r.skip, finalUrl));
        } else if (gap) {
          result.gaps.push({ url: redactQuery(r.url), key: keyOf(r.url), playlist: at });
        } else if (PLAYLIST_ROLES.has(ref.role)) {
          enqueue(next, task, hop, r.url, 'playlist', imports);
        } else if (ref.role === 'asset-list') {
          enqueue(next, task, hop, r.url, 'asset-list');
        } else {
          const kind =
            ref.role === 'preload-hint' && ref.detail === 'MAP' ? 'init' : FILE_KINDS[ref.role]!;
          list.add({ url: r.url, key: keyOf(r.url), kind });
        }
      }
    }
    level = next;
  }

  // A gap whose file is also named without EXT-X-GAP is a file; each gap and skip is listed once.
  result.gaps = uniqueBy(
    result.gaps.filter((g) => !list.has(g.key)),
    (g) => g.key,
  );
  result.skipped = uniqueBy(result.skipped, (s) => `${s.uri} ${s.reason}`);
  return { files: list.files, manifestKey: manifestKey!, ...result };
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
