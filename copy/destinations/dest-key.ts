import { UnsafeUriError } from '../../schemas/errors.js';

/** S3's limit on an object key, in UTF-8 bytes; a longer key can never be stored. */
const MAX_KEY_BYTES = 1024;

// C0 controls, DEL and C1 controls: never part of a real media path, and some tools
// treat them as separators or terminators (NUL).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

// Percent-encoded dot, slash, backslash or NUL, also encoded more than once (%252e,
// %25252f), and the overlong UTF-8 forms of dot and slash (%c0%ae, %c0%af, %e0%80%ae)
// that lenient decoders accept. The key is already decoded, so any of these means a
// second decoding somewhere downstream could turn it into a separator or `..`.
const ENCODED_TRICK = /%(?:25)*(?:2e|2f|5c|00)|%(?:25)*c[01]|%(?:25)*e0%(?:25)*80/i;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

// `C:` at the start would make a Windows path absolute.
const DRIVE_LETTER = /^[A-Za-z]:/;

/**
 * Joins a destination prefix and a file's key into the object key (or relative path) under
 * that prefix, refusing any key that could leave the prefix.
 *
 * The key is the decoded path of a source URL without its leading `/`. It is rejected, with
 * an {@link UnsafeUriError}, when it is empty, absolute, has empty, `.` or `..` segments,
 * backslashes, control characters, percent-encoded dots, slashes or backslashes (in any case
 * and encoded any number of times), characters that Unicode compatibility normalisation turns
 * into dots or slashes, or is longer than S3 allows.
 *
 * @param prefix - destination prefix such as `videos/2024` (leading and trailing `/` ignored;
 *   may be empty); checked by the same rules.
 * @param key - relative key such as `class-1/720p/seg-00001.ts`.
 * @returns `prefix/key`, or `key` when the prefix is empty.
 */
export function joinDestKey(prefix: string, key: string): string {
  const cleanPrefix = prefix.replace(/^\/+|\/+$/g, '');
  if (cleanPrefix !== '') checkPath(cleanPrefix, 'destination prefix');
  checkPath(key, 'key');
  const joined = cleanPrefix === '' ? key : `${cleanPrefix}/${key}`;
  if (Buffer.byteLength(joined, 'utf8') > MAX_KEY_BYTES) {
    throw new UnsafeUriError(
      `destination key longer than ${MAX_KEY_BYTES} bytes: ${preview(joined)}`,
    );
  }
  return joined;
}

function checkPath(path: string, what: string): void {
  const reject = (why: string): never => {
    throw new UnsafeUriError(`unsafe ${what} (${why}): ${preview(path)}`);
  };
  if (path === '') reject('empty');
  if (CONTROL.test(path)) reject('control character');
  if (path.includes('\\')) reject('backslash');
  if (path.startsWith('/')) reject('absolute path');
  if (DRIVE_LETTER.test(path)) reject('drive letter');
  if (ENCODED_TRICK.test(path)) reject('percent-encoded dot, slash or backslash');
  // NFKC leaves printable ASCII unchanged, so only keys with other characters need folding:
  // most keys are ASCII, and this check runs for every file of a crawl.
  const ascii = PRINTABLE_ASCII.test(path);
  for (const segment of path.split('/')) {
    if (segment === '') reject('empty segment');
    if (segment === '.' || segment === '..') reject(`"${segment}" segment`);
    if (ascii) continue;
    // Full-width dots and slashes (U+FF0E, U+FF0F), the two-dot leader (U+2025) and the like
    // become `.`, `/` or `\` under NFKC, which some file systems and tools apply.
    const folded = segment.normalize('NFKC');
    if (folded === '.' || folded === '..' || /[/\\]/.test(folded)) {
      reject('character that normalises to a dot or slash');
    }
  }
}

/** Enough of the key to recognise it, with control characters made visible. */
function preview(path: string): string {
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}...` : path);
}
