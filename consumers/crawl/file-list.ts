import { CrawlError } from '../../schemas/errors.js';
import { MAX_URLS_PER_KEY } from '../../schemas/events.js';

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

type Known = { file: ClassFile; identity: string; content?: string };

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
  private readonly byKey = new Map<string, Known>();

  /**
   * Adds a file unless its key is known.
   *
   * @param identity the URL whose bytes the key will hold: for a playlist its final URL after
   *   redirects (two URLs redirecting to one playlist are one file), otherwise `file.url`.
   * @param content a playlist's text, compared with the text the key already holds.
   * @returns false when the key was already listed for the same identity; true for a new file,
   *   and for a playlist served again, with the same text, from another URL (whose relative URIs
   *   and QUERYPARAM variables may name other URLs, so it is scanned too).
   * @throws CrawlError when one file is named both as a playlist and as media, when a playlist
   *   key is served with two different texts, or when more than MAX_URLS_PER_KEY URLs name a key.
   */
  add(file: ClassFile, identity = file.url, content?: string): boolean {
    const known = this.byKey.get(file.key);
    if (!known) {
      this.byKey.set(
        file.key,
        content === undefined ? { file, identity } : { file, identity, content },
      );
      this.files.push(file);
      return true;
    }
    if ((known.file.kind === 'playlist') !== (file.kind === 'playlist')) {
      throw new CrawlError(
        `${JSON.stringify(file.key)} is named both as a ${known.file.kind} and as a ${file.kind}`,
      );
    }
    if (known.identity === identity) return false;
    if (file.kind === 'playlist') {
      if (known.content === content) return true;
      throw new CrawlError(
        `two URLs of the destination key ${JSON.stringify(file.key)} serve different playlists: ` +
          `${describe(known.identity, identity)} and ${describe(identity, known.identity)}; ` +
          'the destination can hold only one of them',
      );
    }
    const also = (known.file.alsoAt ??= []);
    if (also.includes(identity)) return false;
    if (also.length + 1 >= MAX_URLS_PER_KEY) {
      throw new CrawlError(
        `more than ${MAX_URLS_PER_KEY} different URLs name the destination key ` +
          `${JSON.stringify(file.key)} (such as ${describe(identity, known.identity)}); ` +
          'the destination holds one file per key',
      );
    }
    also.push(identity);
    return false;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }
}

/** Path only (the query may be a credential); the origin too when the other URL's differs. */
export function describe(url: string, other: string): string {
  const u = new URL(url);
  const o = new URL(other);
  const origin = u.protocol !== o.protocol || u.host !== o.host ? `${u.protocol}//${u.host}` : '';
  return `${origin}${u.pathname}${u.search ? '?…' : ''}`;
}
