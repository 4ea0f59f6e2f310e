import { joinDestKey } from '../../copy/destinations/dest-key.js';
import { UnsafeUriError } from '../../schemas/errors.js';
import { assertKeepableKey } from './key-rules.js';

/**
 * The destination key of a source file (SPEC section 5): the path of its URL without the
 * leading `/`, percent-decoding applied once, query and fragment dropped, and `sourceBase`
 * (a leading path) stripped when given. Keys that could leave the destination prefix are refused
 * here, before any job exists, and again by the destination when it writes.
 *
 * @throws UnsafeUriError when the path carries an encoded slash, is not valid percent-encoding,
 *   lies outside `sourceBase`, or decodes to a key that {@link assertSafeKey} or
 *   {@link assertKeepableKey} refuses (colony's reserved `_colony/`, bidi controls, temp names).
 */
export function sourceKey(url: string, sourceBase?: string): string {
  const u = new URL(url);
  let path = u.protocol === 's3:' ? `/${u.hostname}${u.pathname}` : u.pathname;
  // An encoded slash or backslash is one name to the origin but two path segments once decoded:
  // two different files could then share a key, or a name could turn into a directory.
  if (/%(?:25)*(?:2f|5c)/i.test(path)) {
    throw new UnsafeUriError(
      `path of ${redactQuery(url)} contains a percent-encoded slash or backslash`,
    );
  }
  const base = sourceBase ? '/' + sourceBase.replace(/^\/+|\/+$/g, '') + '/' : undefined;
  if (base !== undefined && base !== '//') {
    // A file above the source base would land beside the title instead of inside it, and the
    // copied playlists' relative URIs could no longer reach it.
    if (!path.startsWith(base)) {
      throw new UnsafeUriError(
        `${redactQuery(url)} is outside the source base ${base} (--source-base)`,
      );
    }
    path = path.slice(base.length - 1);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new UnsafeUriError(`path of ${redactQuery(url)} is not valid percent-encoding (UTF-8)`);
  }
  const key = decoded.replace(/^\/+/, '');
  assertSafeKey(key, url);
  assertKeepableKey(key, visible(redactQuery(url)));
  // A class keeps a key for each of up to a million files: when the key is spelled in its URL
  // as it is (no escapes), a slice shares the URL's memory instead of copying it.
  const at = url.indexOf(key);
  return at === -1 ? key : url.slice(at, at + key.length);
}

/**
 * Refuses a key that could leave the destination prefix: empty, absolute, `.`, `..` or empty
 * segments, backslashes, control characters (NUL included), percent-encoded dots, slashes or
 * backslashes however often encoded, overlong UTF-8, characters that Unicode compatibility
 * normalisation turns into dots or slashes (full-width dots), or longer than S3 allows. The rules
 * are the destination's own ({@link joinDestKey}), so a key the crawler lists is one the
 * destination will accept.
 */
export function assertSafeKey(key: string, url = key): void {
  try {
    joinDestKey('', key);
  } catch (err) {
    if (!(err instanceof UnsafeUriError)) throw err;
    throw new UnsafeUriError(
      `destination key for ${visible(redactQuery(url))} refused: ${err.message}`,
    );
  }
}

// Percent-encoded dot, slash, backslash or NUL, also encoded more than once (%252e), and the
// overlong UTF-8 forms (%c0%ae, %e0%80%ae) that lenient decoders turn into dots and slashes.
const ENCODED_TRICK = /%(?:25)*(?:2e|2f|5c|00)|%(?:25)*c[01]|%(?:25)*e0%(?:25)*80/i;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Refuses a URI reference, as written in a playlist, whose path relies on a spelling that
 * players, CDNs and file systems do not agree on: backslashes, control characters, percent-encoded
 * dots, slashes, backslashes or NUL (in any case, encoded any number of times), overlong UTF-8, or
 * characters that normalise to dots or slashes. No real media URI needs one, and each is a classic
 * way to make two parties see two different paths. Plain `../` is fine (and resolved); the query
 * is not checked, as it never reaches a key.
 *
 * @param ref the reference after variable substitution.
 * @param where where it is named (`EXT-X-KEY at <playlist> line 7`), already without query strings.
 */
export function assertSafeReference(ref: string, where: string): void {
  const path = ref.replace(/[?#].*$/s, '');
  const why = unsafeSpelling(path) ?? unsafeSpelling(tryDecode(path) ?? '', 'once decoded ');
  if (why) {
    throw new UnsafeUriError(`URI "${visible(redactQuery(ref))}" in ${where} ${why}`);
  }
}

function unsafeSpelling(path: string, prefix = ''): string | undefined {
  if (path.includes('\\')) return `${prefix}contains a backslash`;
  if (CONTROL.test(path)) return `${prefix}contains a control character`;
  if (prefix === '' && ENCODED_TRICK.test(path)) {
    return 'contains a percent-encoded dot, slash, backslash or NUL, or overlong UTF-8';
  }
  for (const ch of path) {
    if (ch.charCodeAt(0) > 0x7f && /[./\\]/.test(ch.normalize('NFKC'))) {
      return `${prefix}contains ${JSON.stringify(ch)} (U+${ch.codePointAt(0)!.toString(16).toUpperCase()}), which normalises to a dot or slash`;
    }
  }
  return undefined;
}

function tryDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** A URL without its query and fragment: what may appear in logs, errors and spans. */
export function redactQuery(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}

/** Control characters made visible, so an error message cannot carry a raw NUL or newline. */
function visible(s: string): string {
  return s.replace(
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
