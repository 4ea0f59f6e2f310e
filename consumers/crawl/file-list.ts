import { CrawlError } from '../../schemas/errors.js';
import { MAX_URLS_PER_KEY } from '../../schemas/events.js';
import { KeyShapes } from './key-rules.js';

export type FileKind =
  'playlist' | 'segment' | 'init' | 'key' | 'part' | 'preload-hint' | 'session-data' | 'asset-list';

export type ClassFile = {
  /** The URL to fetch, query kept. */
  url: string;
  /** The destination key, query dropped. */
  key: string;
  kind: FileKind;
  /**
   * Other URLs naming the same key (another signed query, another spelling): one file, copied
   * once from `url`; the transfer stage checks that each serves the same bytes.
   */
  alsoAt?: string[];
};

/** What a playlist key holds: the URL it was served from and its text's digest. */
type Served = { identity: string; content: string | undefined };

/**
 * The files of one class, one per destination key, in the order they were found. A key named
 * again by the same URL (byte ranges of one file, one key for many segments) is the same file.
 * A key named by another URL (SPEC section 4: a signed query, a failover copy, the same file
 * reached as relative and absolute URL) is the same file too, unless the bytes differ: a
 * playlist's are compared here, as the crawl has them; a media file's other URLs travel with
 * its job (`alsoAt`), and the copy compares what each serves with what it wrote.
 */
export class FileList {
  readonly files: ClassFile[] = [];
  // One entry per file, the file itself: a class may have a million.
  private readonly byKey = new Map<string, ClassFile>();
  private readonly playlists = new Map<string, Served>();
  private readonly shapes = new KeyShapes(this.byKey);

  /** @param maxFiles most files the class may have (COLONY_MAX_FILES_PER_CLASS). */
  constructor(private readonly maxFiles = Number.POSITIVE_INFINITY) {}

  /**
   * Adds a file unless its key is known.
   *
   * @param identity the URL whose bytes the key will hold: for a playlist its final URL after
   *   redirects (two URLs redirecting to one playlist are one file), otherwise `file.url`.
   * @param content a playlist's text (its digest), compared with what the key already holds.
   * @returns false when the key was already listed for the same identity; true for a new file,
   *   and for a playlist served again, with the same text, from another URL (whose relative URIs
   *   and QUERYPARAM variables may name other URLs, so it is scanned too).
   * @throws CrawlError when one file is named both as a playlist and as media, when a playlist
   *   key is served with two different texts, when more than MAX_URLS_PER_KEY URLs name a key,
   *   when the class would have more than `maxFiles` files, or when the key clashes with another
   *   (see KeyShapes: Unicode twins, a file where another key needs a folder).
   */
  add(file: ClassFile, identity = file.url, content?: string): boolean {
    const known = this.byKey.get(file.key);
    if (!known) {
      if (this.files.length >= this.maxFiles) {
        throw new CrawlError(
          `more than ${this.maxFiles} files in one class (COLONY_MAX_FILES_PER_CLASS)`,
        );
      }
      this.shapes.admit(file.key);
      this.byKey.set(file.key, file);
      if (identity !== file.url || content !== undefined)
        this.playlists.set(file.key, { identity, content });
      this.files.push(file);
      return true;
    }
    if ((known.kind === 'playlist') !== (file.kind === 'playlist')) {
      throw new CrawlError(
        `${JSON.stringify(file.key)} is named both as a ${known.kind} and as a ${file.kind}`,
      );
    }
    const served = this.playlists.get(file.key);
    const knownIdentity = served?.identity ?? known.url;
    if (knownIdentity === identity) return false;
    if (served !== undefined || content !== undefined) {
      if (served?.content === content) return true;
      throw new CrawlError(
        `two URLs of the destination key ${JSON.stringify(file.key)} serve different playlists: ` +
          `${describe(knownIdentity, identity)} and ${describe(identity, knownIdentity)}; ` +
          'the destination can hold only one of them',
      );
    }
    const also = (known.alsoAt ??= []);
    if (also.includes(identity)) return false;
    if (also.length + 1 >= MAX_URLS_PER_KEY) {
      throw new CrawlError(
        `more than ${MAX_URLS_PER_KEY} different URLs name the destination key ` +
          `${JSON.stringify(file.key)} (such as ${describe(identity, knownIdentity)}); ` +
          'the destination holds one file per key',
      );
    }
    also.push(identity);
    return false;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  get size(): number {
    return this.files.length;
  }
}

/** Path only (the query may be a credential); the origin too when the other URL's differs. */
export function describe(url: string, other: string): string {
  const u = new URL(url);
  const o = new URL(other);
  const origin = u.protocol !== o.protocol || u.host !== o.host ? `${u.protocol}//${u.host}` : '';
  return `${origin}${u.pathname}${u.search ? '?…' : ''}`;
}
