import { UnsafeUriError } from '../schemas/errors.js';

/**
 * The destination key of a source file (SPEC section 5): the path of its URL without the
 * leading `/`, percent-decoding applied once, query and fragment dropped, and `sourceBase`
 * (a leading path) stripped when given. Keys that could leave the destination prefix are refused
 * here, before any job exists, and again by the destination when it writes.
 */
export function sourceKey(url: string, sourceBase?: string): string {
  const u = new URL(url);
  let path = u.protocol === 's3:' ? `/${u.hostname}${u.pathname}` : u.pathname;
  if (sourceBase) {
    const base = '/' + sourceBase.replace(/^\/+|\/+$/g, '') + '/';
    if (base !== '//' && path.startsWith(base)) path = path.slice(base.length - 1);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new UnsafeUriError(`path of ${redactQuery(url)} is not valid percent-encoding`);
  }
  const key = decoded.replace(/^\/+/, '');
  assertSafeKey(key, url);
  return key;
}

/** Refuses keys that are empty, absolute, traverse upwards, or carry encoded or control tricks. */
export function assertSafeKey(key: string, url = key): void {
  const why =
    key === '' ? 'is empty'
    : key.startsWith('/') ? 'is absolute'
    : key.includes('\\') ? 'contains a backslash'
    : /[\u0000-\u001f\u007f]/.test(key) ? 'contains a control character'
    : /%(2e|2f|5c|00|25)/i.test(key) ? 'still contains percent-encoded dots, slashes or escapes after decoding'
    : key.split('/').some((s) => s === '..' || s === '.' || s === '') ? 'has an empty, . or .. segment'
    : undefined;
  if (why) throw new UnsafeUriError(`destination key for ${redactQuery(url)} ${why}`);
}

/** A URL without its query and fragment: what may appear in logs, errors and spans. */
export function redactQuery(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}
