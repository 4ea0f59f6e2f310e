import { CrawlError } from '../../schemas/errors.js';

export type FileKind =
  'playlist' | 'segment' | 'init' | 'key' | 'part' | 'preload-hint' | 'session-data' | 'asset-list';

export type ClassFile = {
  /** The URL to fetch, query kept. */
  url: string;
  /** The destination key, query dropped. */
  key: string;
  kind: FileKind;
};

/**
 * The files of one class, one per destination key, in the order they were found. A key named
 * again by the same URL (byte ranges of one file, one key for many segments) is the same file.
 * A key named by a different URL is a conflict: the destination holds one object per key, and
 * nothing tells us the two URLs serve the same bytes (`key.php?r=52` and `key.php?r=53` do not),
 * so the class fails rather than copy one and lose the other.
 */
export class FileList {
  readonly files: ClassFile[] = [];
  private readonly byKey = new Map<string, { file: ClassFile; identity: string }>();

  /**
   * Adds a file unless its key is known.
   *
   * @param identity the URL whose bytes the key will hold: for a playlist its final URL after
   *   redirects (two URLs redirecting to one playlist are one file), otherwise `file.url`.
   * @returns false when the key was already listed for the same identity.
   * @throws CrawlError on a conflict, or when one file is named both as a playlist and as media.
   */
  add(file: ClassFile, identity = file.url): boolean {
    const known = this.byKey.get(file.key);
    if (!known) {
      this.byKey.set(file.key, { file, identity });
      this.files.push(file);
      return true;
    }
    if (known.identity !== identity) {
      throw new CrawlError(
        `two different URLs map to the destination key ${JSON.stringify(file.key)}: ` +
          `${describe(known.identity, identity)} and ${describe(identity, known.identity)}; ` +
          'the destination can hold only one of them',
      );
    }
    if ((known.file.kind === 'playlist') !== (file.kind === 'playlist')) {
      throw new CrawlError(
        `${JSON.stringify(file.key)} is named both as a ${known.file.kind} and as a ${file.kind}`,
      );
    }
    return false;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }
}

/** Path only (the query may be a credential); the origin too when the other URL's differs. */
function describe(url: string, other: string): string {
  const u = new URL(url);
  const o = new URL(other);
  const origin = u.protocol !== o.protocol || u.host !== o.host ? `${u.protocol}//${u.host}` : '';
  return `${origin}${u.pathname}${u.search ? '?…' : ''}`;
}
