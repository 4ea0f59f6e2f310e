import { fileURLToPath } from 'node:url';
import { ColonyError, ConfigError } from '../../schemas/errors.js';
import { joinDestKey } from './dest-key.js';
import type { Destination, S3Settings } from './destination.js';
import { FileDestination } from './file-destination.js';
import { S3Destination } from './s3-destination.js';

const EXPECTED = 'expected file:///absolute/dir or s3://bucket[/prefix]';

/**
 * Opens the destination a URL names: `file:///abs/dir` (a local directory) or
 * `s3://bucket/prefix` (AWS S3, or the S3-compatible endpoint in `s3`).
 *
 * @throws ConfigError for any other scheme, a relative file URL, an s3 URL without a bucket,
 *   or a URL with a query, fragment, credentials or port.
 */
export function openDestination(url: string, s3: S3Settings): Destination {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`destination "${url}": not a URL; ${EXPECTED}`);
  }
  if (
    parsed.search !== '' ||
    parsed.hash !== '' ||
    parsed.username !== '' ||
    parsed.password !== ''
  ) {
    throw new ConfigError(
      `destination "${url}": no query, fragment or credentials allowed; ${EXPECTED}`,
    );
  }
  switch (parsed.protocol) {
    case 'file:':
      return openFile(url, parsed);
    case 's3:':
      return openS3(url, parsed, s3);
    default:
      throw new ConfigError(
        `destination "${url}": unsupported scheme "${parsed.protocol}"; ${EXPECTED}`,
      );
  }
}

function openFile(url: string, parsed: URL): Destination {
  // The URL parser turns `file:dir` and `file://dir` into something absolute-looking; only the
  // explicit forms are unambiguous.
  if (!/^file:\/\/(localhost)?\//i.test(url)) {
    throw new ConfigError(
      `destination "${url}": a file destination needs an absolute path; ${EXPECTED}`,
    );
  }
  // The URL parser resolves `..` and `%2e%2e` silently; a destination root should say what it means.
  let segments: string[];
  try {
    segments = decodeURIComponent(url.replace(/^file:\/\/(localhost)?/i, '')).split('/');
  } catch {
    throw new ConfigError(`destination "${url}": bad percent-encoding in the path`);
  }
  if (segments.some((s) => s === '.' || s === '..')) {
    throw new ConfigError(
      `destination "${url}": "." and ".." segments are not allowed; ${EXPECTED}`,
    );
  }
  return new FileDestination({ root: fileURLToPath(parsed), url });
}

function openS3(url: string, parsed: URL, s3: S3Settings): Destination {
  const bucket = parsed.hostname;
  if (bucket === '' || parsed.port !== '') {
    throw new ConfigError(
      `destination "${url}": an s3 destination needs a bucket and no port; ${EXPECTED}`,
    );
  }
  let prefix: string;
  try {
    // Checked on the raw text: the URL parser already resolves `..` and `%2e%2e` segments away.
    const rawPath = url.replace(/^s3:\/\/[^/]*/i, '');
    prefix = decodeURIComponent(rawPath).replace(/^\/+|\/+$/g, '');
    if (prefix !== '') joinDestKey('', prefix);
  } catch (err) {
    const why = err instanceof ColonyError ? err.message : 'bad percent-encoding';
    throw new ConfigError(`destination "${url}": invalid prefix: ${why}`);
  }
  return new S3Destination({ url, bucket, prefix, settings: s3 });
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.aac': 'audio/aac',
  '.vtt': 'text/vtt',
  '.key': 'application/octet-stream',
};

/** The Content-Type to store an HLS file under, from its extension (case-insensitive). */
export function contentTypeFor(key: string): string {
  const name = key.split(/[?#]/, 1)[0]?.split('/').pop() ?? '';
  const dot = name.lastIndexOf('.');
  const ext = dot <= 0 ? '' : name.slice(dot).toLowerCase();
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}
