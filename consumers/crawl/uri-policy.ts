import { CrawlError, UnsafeUriError } from '../../schemas/errors.js';
import { assertSafeReference, redactQuery } from './source-key.js';
import { PLAYLIST_ROLES, type Reference } from './references.js';

/** A reference we will fetch (or list as a gap), or one we leave alone and say why. */
export type Resolution = { url: string } | { skip: string };

const FETCHABLE = new Set(['http:', 'https:', 's3:']);
const KEY_ROLES = new Set(['key', 'session-key']);
// Interstitials are ads or promos, usually on an ad server: the title plays without them, so one
// on another origin is reported instead of failing the class.
const OPTIONAL_ROLES = new Set(['interstitial-asset', 'asset-list']);

/**
 * Decides which URIs of a class may be fetched: the manifest's own origin (scheme, host and
 * port) and the configured extra origins (COLONY_ALLOWED_ORIGINS), over http(s) or s3, with no
 * credentials in the URL and no path spelling that players and origins could read differently.
 */
export class UriPolicy {
  private readonly allowed: ReadonlySet<string>;

  constructor(manifestUrl: string, allowedOrigins: readonly string[] = []) {
    this.allowed = new Set([originOf(manifestUrl), ...allowedOrigins.map(originOf)]);
  }

  /**
   * Resolves a reference of a playlist whose final URL is `base`.
   *
   * @throws UnsafeUriError for a foreign origin, an unsupported scheme, credentials, a tricky
   *   spelling, or `..` climbing above the origin's root; CrawlError for a URI that does not parse.
   */
  resolve(
    ref: Pick<Reference, 'role' | 'tag' | 'line' | 'uri' | 'url'>,
    base: string,
    o: { gap?: boolean } = {},
  ): Resolution {
    const at = `${ref.tag} at ${redactQuery(base)} line ${ref.line}`;
    if (/^data:/i.test(ref.uri)) {
      // An inline key, init segment or session data travels inside the copied playlist; an inline
      // playlist would hide the files it names, so it fails rather than lose them.
      if (!PLAYLIST_ROLES.has(ref.role) && ref.role !== 'asset-list')
        return { skip: 'data: URI: its content is inline in the playlist' };
      throw new CrawlError(
        `inline data: playlist in ${at} is not supported: the files it names could not be listed`,
      );
    }
    assertSafeReference(ref.uri, at);
    if (ref.url === undefined)
      throw new CrawlError(`unparseable URI ${JSON.stringify(redactQuery(ref.uri))} in ${at}`);
    const url = new URL(ref.url);
    if (!FETCHABLE.has(url.protocol)) {
      // skd:// (FairPlay) and other key-system URIs name a key the DRM client asks its server
      // for: there is no file to copy.
      if (KEY_ROLES.has(ref.role))
        return { skip: `${url.protocol} key URI is not fetchable (a DRM key system)` };
      throw new UnsafeUriError(
        `${url.protocol} URI ${JSON.stringify(redactQuery(ref.uri))} in ${at} is not supported (http, https or s3 only)`,
      );
    }
    if (url.username || url.password) throw new UnsafeUriError(`URI in ${at} carries credentials`);
    if (climbsAboveRoot(ref.uri, base)) {
      throw new UnsafeUriError(
        `URI ${JSON.stringify(redactQuery(ref.uri))} in ${at} climbs above the origin's root with ..`,
      );
    }
    url.hash = '';
    if (
      !o.gap &&
      !this.allowed.has(url.origin === 'null' ? `${url.protocol}//${url.host}` : url.origin)
    ) {
      const origin = originOf(url.href);
      if (OPTIONAL_ROLES.has(ref.role))
        return { skip: `interstitial on another origin (${origin}), not copied` };
      throw new UnsafeUriError(
        `${redactQuery(url.href)} (${at}) is on ${origin}, outside the allowed origins (COLONY_ALLOWED_ORIGINS)`,
      );
    }
    return { url: url.href };
  }

  allows(url: string): boolean {
    return this.allowed.has(originOf(url));
  }
}

/** scheme://host:port, also for s3:, whose URL origin is "null". */
export function originOf(url: string): string {
  const u = new URL(url);
  return u.origin === 'null' ? `${u.protocol}//${u.host}` : u.origin;
}

/**
 * Whether a reference's `..` segments climb above the root of its origin. URL resolution
 * (RFC 3986) silently stops at the root, so `../../../../etc/passwd` would quietly become
 * `/etc/passwd`: no real playlist does that, so it is refused instead of guessed at.
 */
export function climbsAboveRoot(ref: string, base: string): boolean {
  // Decoded dot segments are what climb; encoded ones are refused before this check.
  if (!ref.includes('..')) return false;
  let path = ref.replace(/[?#].*$/s, '');
  let stack: string[];
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(path);
  if (absolute) path = path.slice(absolute[0].length);
  if (path.startsWith('//')) {
    const slash = path.indexOf('/', 2);
    path = slash === -1 ? '/' : path.slice(slash);
  }
  if (absolute || path.startsWith('/')) {
    stack = [];
  } else {
    stack = new URL(base).pathname.split('/').filter((s) => s !== '');
    if (!new URL(base).pathname.endsWith('/')) stack.pop();
  }
  for (const segment of path.split('/')) {
    if (segment === '..') {
      if (stack.length === 0) return true;
      stack.pop();
    } else if (segment !== '.' && segment !== '') {
      stack.push(segment);
    }
  }
  return false;
}
