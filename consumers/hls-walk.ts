import { Parser } from 'm3u8-parser';
import { CrawlError, UnsafeUriError } from '../schemas/errors.js';
import { redactQuery, sourceKey } from './source-key.js';

/** Fetches a playlist: its text and the URL it was finally served from (after redirects). */
export type FetchText = (url: string) => Promise<{ text: string; finalUrl: string }>;

export type ClassFile = {
  /** The URL to fetch, query kept. */
  url: string;
  /** The destination key, query dropped. */
  key: string;
  kind: 'playlist' | 'segment' | 'init' | 'key' | 'other';
};

export type WalkOptions = {
  fetchText: FetchText;
  /** Origins besides the manifest's own that may be fetched. */
  allowedOrigins?: readonly string[];
  sourceBase?: string;
  /** Most playlists one class may have: a guard against generated or cyclic libraries. */
  maxPlaylists?: number;
};

export type WalkResult = { files: ClassFile[]; skipped: { uri: string; reason: string }[] };

/**
 * Lists every file a class needs, starting at its manifest: the playlists, and what each names.
 * The order is deterministic (playlists breadth first, files in playlist order), so a re-crawl of
 * an unchanged class gives every file the same ordinal. A file named many times (byte ranges,
 * one key for many segments, one init segment) is listed once.
 */
export async function walkClass(manifestUrl: string, o: WalkOptions): Promise<WalkResult> {
  const allowed = new Set([new URL(manifestUrl).origin, ...(o.allowedOrigins ?? []).map(originOf)]);
  const files: ClassFile[] = [];
  const byKey = new Map<string, ClassFile>();
  const skipped: WalkResult['skipped'] = [];
  const queue: string[] = [manifestUrl];
  const seenPlaylists = new Set<string>();
  const maxPlaylists = o.maxPlaylists ?? 10_000;

  const add = (url: string, kind: ClassFile['kind']): ClassFile | undefined => {
    const key = sourceKey(url, o.sourceBase);
    const existing = byKey.get(key);
    if (existing) return undefined;
    const file = { url, key, kind };
    byKey.set(key, file);
    files.push(file);
    return file;
  };

  const resolve = (uri: string, base: string): string | undefined => {
    let url: URL;
    try {
      url = new URL(uri, base);
    } catch {
      throw new CrawlError(`unparseable URI ${JSON.stringify(redactQuery(uri))} in ${redactQuery(base)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 's3:') {
      skipped.push({ uri: redactQuery(uri), reason: `${url.protocol} URI is not fetchable` });
      return undefined;
    }
    if (!allowed.has(url.origin === 'null' ? `${url.protocol}//${url.host}` : url.origin)) {
      throw new UnsafeUriError(
        `${redactQuery(url.href)} is on ${url.protocol}//${url.host}, outside the allowed origins (COLONY_ALLOWED_ORIGINS)`,
      );
    }
    url.hash = '';
    return url.href;
  };

  while (queue.length > 0) {
    const playlistUrl = queue.shift()!;
    if (seenPlaylists.has(playlistUrl)) continue;
    seenPlaylists.add(playlistUrl);
    if (seenPlaylists.size > maxPlaylists) {
      throw new CrawlError(`more than ${maxPlaylists} playlists in one class`);
    }
    add(playlistUrl, 'playlist');
    const { text, finalUrl } = await o.fetchText(playlistUrl);
    if (!text.trimStart().startsWith('#EXTM3U')) {
      throw new CrawlError(`${redactQuery(playlistUrl)} is not an HLS playlist (no #EXTM3U header)`);
    }
    const parser = new Parser();
    parser.push(text);
    parser.end();
    const m = parser.manifest;

    const playlists: string[] = [];
    for (const p of m.playlists ?? []) if (p.uri) playlists.push(p.uri);
    for (const groups of Object.values(m.mediaGroups ?? {})) {
      for (const group of Object.values(groups ?? {})) {
        for (const rendition of Object.values(group ?? {})) {
          const uri = (rendition as { uri?: string }).uri;
          if (uri) playlists.push(uri);
        }
      }
    }
    for (const p of (m as { iFramePlaylists?: { uri?: string }[] }).iFramePlaylists ?? []) {
      if (p.uri) playlists.push(p.uri);
    }
    for (const uri of playlists) {
      const url = resolve(uri, finalUrl);
      if (url && !seenPlaylists.has(url)) queue.push(url);
    }

    for (const s of m.segments ?? []) {
      const seg = s as { uri?: string; map?: { uri?: string }; key?: { uri?: string } };
      if (seg.key?.uri) {
        const url = resolve(seg.key.uri, finalUrl);
        if (url) add(url, 'key');
      }
      if (seg.map?.uri) {
        const url = resolve(seg.map.uri, finalUrl);
        if (url) add(url, 'init');
      }
      if (seg.uri) {
        const url = resolve(seg.uri, finalUrl);
        if (url) add(url, 'segment');
      }
    }
  }
  return { files, skipped };
}

function originOf(o: string): string {
  return new URL(o).origin;
}
