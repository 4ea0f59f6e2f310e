import { CrawlError, UnsafeUriError } from '../../schemas/errors.js';

/**
 * Keys the destination would accept today that bite later (issue: "keys that bite later"), refused
 * at crawl time with the reason rather than failing, or quietly going wrong, after the copy.
 */

/** Colony's own records (the audit archive) live under this prefix of every destination. */
export const RESERVED_PREFIX = '_colony/';

// Explicit bidirectional formatting characters (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI)
// and the marks (LRM, RLM, ALM): a name carrying one is displayed other than it is spelled.
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

// The hidden temp file of a put in progress on a file:// destination: `.<name>.<16 hex>.tmp`.
const TEMP_FILE = /(?:^|\/)\.[^/]+\.[0-9a-f]{16}\.tmp$/;

/**
 * Refuses a key of a crawled file that is safe to write but wrong to keep: one under colony's
 * reserved `_colony/` prefix (a playlist could otherwise plant a forged audit archive), one with
 * bidirectional control characters, and one spelled like a file:// destination's temp file
 * (which listings skip and cleanups remove, so reconcile would call it missing for ever).
 *
 * @param shown the URL to name in the message, already without its query.
 * @throws UnsafeUriError naming the key and the reason.
 */
export function assertKeepableKey(key: string, shown: string): void {
  const refuse = (why: string): never => {
    throw new UnsafeUriError(`destination key ${JSON.stringify(key)} of ${shown} ${why}`);
  };
  if (key.charCodeAt(0) === 95 /* _ */ && isReserved(key)) {
    refuse(`is under ${RESERVED_PREFIX}, which colony keeps for its own records`);
  }
  const bidi = BIDI.exec(key);
  if (bidi) {
    const code = bidi[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    refuse(
      `contains the bidirectional control character U+${code}, which makes a name display other than it is spelled`,
    );
  }
  if (key.endsWith('.tmp') && TEMP_FILE.test(key)) {
    refuse(
      'has the form of a temporary file of a file:// destination (.<name>.<16 hex digits>.tmp), which listings skip and cleanups remove',
    );
  }
}

/** `_colony` itself or anything below it, in any letter case (case-insensitive file systems). */
function isReserved(key: string): boolean {
  const head = key.slice(0, RESERVED_PREFIX.length).toLowerCase();
  return head === RESERVED_PREFIX || key.toLowerCase() === RESERVED_PREFIX.slice(0, -1);
}

/**
 * The keys of one class, checked against each other for pairs that one destination cannot hold
 * apart: `café.ts` spelled in two Unicode normal forms (NFC and NFD; one file on macOS, and the
 * same name to a person), and a file `x` beside a file `x/a.ts` (a file cannot also be a folder
 * on file://, and S3 listings then show both).
 */
export class KeyShapes {
  /** @param keys the keys admitted so far (the caller's own map: a class may have a million). */
  constructor(private readonly keys: ReadonlyMap<string, unknown>) {}

  /** Every folder that some key lies in. */
  private readonly folders = new Set<string>();
  /** Keys that are not ASCII, by their NFC form. */
  private readonly composed = new Map<string, string>();

  /**
   * Checks a key before the caller adds it to `keys`.
   *
   * @throws CrawlError when `key` clashes with a key admitted before.
   */
  admit(key: string): void {
    if (this.folders.has(key)) {
      const inside = [...this.keys.keys()].find((k) => k.startsWith(`${key}/`));
      throw clash(key, inside ?? `${key}/…`);
    }
    for (let slash = key.lastIndexOf('/'); slash > 0; slash = key.lastIndexOf('/', slash - 1)) {
      const folder = key.slice(0, slash);
      // A folder seen before was checked then, and so were the folders above it.
      if (this.folders.has(folder)) break;
      if (this.keys.has(folder)) throw clash(folder, key);
      this.folders.add(folder);
    }
    if (isAscii(key)) return;
    const nfc = key.normalize('NFC');
    const twin = this.composed.get(nfc);
    if (twin !== undefined && twin !== key) {
      throw new CrawlError(
        `destination keys ${spelled(twin)} and ${spelled(key)} are one name in two Unicode forms (NFC and NFD): file systems such as macOS's hold them as one file, and people read them as one`,
      );
    }
    this.composed.set(nfc, key);
  }
}

function clash(file: string, inside: string): CrawlError {
  return new CrawlError(
    `destination key ${JSON.stringify(file)} is a file, and ${JSON.stringify(inside)} needs it to be a folder: a destination cannot hold both`,
  );
}

/** A key in quotes with its non-ASCII characters as \\u escapes, so that twins look different. */
function spelled(key: string): string {
  return JSON.stringify(key).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
