import { CrawlError } from '../../schemas/errors.js';
import { redactQuery } from './source-key.js';
import { parseAttributeList, type AttributeList } from './attributes.js';
import { VariableScope, type Definitions } from './variables.js';

/**
 * What a URI is to the title. Playlists are followed; files are copied; the rest is reported.
 *
 * - playlists: `variant` (EXT-X-STREAM-INF), `rendition` (EXT-X-MEDIA), `i-frame-playlist`,
 *   `image-playlist` (EXT-X-IMAGE-STREAM-INF), `interstitial-asset` (EXT-X-DATERANGE X-ASSET-URI)
 * - files: `segment`, `init` (EXT-X-MAP), `key` (EXT-X-KEY), `session-key`, `session-data`,
 *   `part` (EXT-X-PART), `preload-hint`, `asset-list` (X-ASSET-LIST, a JSON list of assets)
 * - reported only: `content-steering` (its server answers per client: copying one answer would
 *   freeze it), `rendition-report` (names playlists the multivariant playlist already lists),
 *   `unknown` (a URI attribute of a tag this scanner does not know).
 */
export type ReferenceRole =
  | 'variant'
  | 'rendition'
  | 'i-frame-playlist'
  | 'image-playlist'
  | 'interstitial-asset'
  | 'segment'
  | 'init'
  | 'key'
  | 'session-key'
  | 'session-data'
  | 'part'
  | 'preload-hint'
  | 'asset-list'
  | 'content-steering'
  | 'rendition-report'
  | 'unknown';

export const PLAYLIST_ROLES: ReadonlySet<ReferenceRole> = new Set([
  'variant',
  'rendition',
  'i-frame-playlist',
  'image-playlist',
  'interstitial-asset',
]);

export type Reference = {
  role: ReferenceRole;
  /** The tag that names it (`EXT-X-MEDIA`), or `URI line`. */
  tag: string;
  /** 1-based line number in the playlist. */
  line: number;
  /** The URI as written, variables substituted. */
  uri: string;
  /** `uri` resolved against the playlist's URL; undefined when it does not parse. */
  url: string | undefined;
  /** A segment after EXT-X-GAP, or a part with GAP=YES: allowed to be absent at the origin. */
  gap?: true;
  /** KEYFORMAT of a key, TYPE of a preload hint or rendition, PATHWAY-ID of content steering. */
  detail?: string;
};

export type PlaylistScan = {
  type: 'multivariant' | 'media';
  /** Every URI the playlist names, in playlist order. */
  references: Reference[];
  definitions: Definitions;
  /** EXT-X-ENDLIST seen: the media playlist is complete (VOD, or an EVENT that has ended). */
  endList: boolean;
  /** EXT-X-SKIP seen: a delta update that leaves older segments out. */
  deltaUpdate: boolean;
};

export type ListOptions = {
  /** The URL the playlist was requested with, when a redirect made `baseUrl` differ. */
  requestUrl?: string;
  /** Variables of the multivariant playlist that named this one, for EXT-X-DEFINE IMPORT. */
  imports?: Definitions;
};

const MULTIVARIANT_TAGS = new Set(
  [
    'EXT-X-STREAM-INF EXT-X-MEDIA EXT-X-I-FRAME-STREAM-INF EXT-X-IMAGE-STREAM-INF',
    'EXT-X-SESSION-DATA EXT-X-SESSION-KEY EXT-X-CONTENT-STEERING',
  ]
    .join(' ')
    .split(' '),
);

/** Tags whose URI attributes we know; any other tag with a `...URI=` attribute is `unknown`. */
const KNOWN_TAGS = new Set([
  ...MULTIVARIANT_TAGS,
  ...[
    'EXTM3U EXTINF EXT-X-VERSION EXT-X-DEFINE EXT-X-KEY EXT-X-MAP EXT-X-PART EXT-X-PRELOAD-HINT',
    'EXT-X-RENDITION-REPORT EXT-X-DATERANGE EXT-X-GAP EXT-X-ENDLIST EXT-X-SKIP EXT-X-BYTERANGE',
    'EXT-X-TARGETDURATION EXT-X-MEDIA-SEQUENCE EXT-X-DISCONTINUITY EXT-X-DISCONTINUITY-SEQUENCE',
    'EXT-X-PROGRAM-DATE-TIME EXT-X-PLAYLIST-TYPE EXT-X-I-FRAMES-ONLY EXT-X-PART-INF',
    'EXT-X-SERVER-CONTROL EXT-X-INDEPENDENT-SEGMENTS EXT-X-START EXT-X-BITRATE EXT-X-TILES',
    'EXT-X-ALLOW-CACHE',
  ]
    .join(' ')
    .split(' '),
]);

/**
 * Lists every URI a playlist names, by a line scan of our own rather than m3u8-parser, which
 * keeps only the last of several renditions sharing a NAME, files keys with a KEYFORMAT under
 * `contentProtection` (dropping some), substitutes only the first occurrence of a variable, and
 * ignores EXT-X-SESSION-KEY, EXT-X-SESSION-DATA, EXT-X-IMAGE-STREAM-INF, EXT-X-GAP and
 * interstitials. Pure: nothing is fetched, so it can run over any text.
 *
 * @throws CrawlError for what the RFC says must fail to parse: a playlist that mixes
 *   multivariant and media tags, an undefined or duplicate variable, a bad IMPORT or QUERYPARAM,
 *   an empty or repeated URI attribute.
 */
export function listReferences(text: string, baseUrl: string, o: ListOptions = {}): PlaylistScan {
  const where = baseUrl;
  const scope = new VariableScope(where, {
    requestUrl: o.requestUrl ?? baseUrl,
    finalUrl: baseUrl,
    imports: o.imports,
  });
  const references: Reference[] = [];
  let pendingVariant: number | undefined;
  let pendingGap = false;
  let endList = false;
  let deltaUpdate = false;
  let multivariantTag: string | undefined;
  let mediaLine: number | undefined;

  const fail = (line: number, why: string): never => {
    throw new CrawlError(`${redactQuery(where)} line ${line}: ${why}`);
  };
  const add = (
    role: ReferenceRole,
    tag: string,
    line: number,
    uri: string,
    extra: Partial<Reference> = {},
  ) => {
    if (uri === '') fail(line, `${tag} has an empty URI`);
    references.push({ role, tag, line, uri, url: resolve(uri, baseUrl), ...extra });
  };
  /** The substituted value of an attribute that carries a URI; a repeated one is ambiguous. */
  const uriAttr = (
    list: AttributeList,
    name: string,
    tag: string,
    line: number,
  ): string | undefined => {
    if (list.duplicates.includes(name)) fail(line, `${tag} gives ${name} more than once`);
    const a = list.attrs.get(name);
    return a === undefined ? undefined : scope.substitute(a.value, line);
  };
  const plain = (list: AttributeList, name: string): string | undefined =>
    list.attrs.get(name)?.value;

  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = n + 1;
    const trimmed = lines[n]!.trim();
    if (trimmed === '') continue;
    if (!trimmed.startsWith('#')) {
      const uri = scope.substitute(trimmed, line);
      if (pendingVariant !== undefined) {
        add('variant', 'EXT-X-STREAM-INF', line, uri);
        pendingVariant = undefined;
      } else {
        mediaLine ??= line;
        add('segment', 'URI line', line, uri, pendingGap ? { gap: true } : {});
        pendingGap = false;
      }
      continue;
    }
    if (!trimmed.startsWith('#EXT')) continue; // a comment
    const colon = trimmed.indexOf(':');
    const tag = (colon === -1 ? trimmed.slice(1) : trimmed.slice(1, colon)).trim();
    const rest = colon === -1 ? '' : trimmed.slice(colon + 1);
    if (MULTIVARIANT_TAGS.has(tag)) multivariantTag ??= tag;
    if (tag === 'EXTINF') mediaLine ??= line;

    switch (tag) {
      case 'EXT-X-DEFINE':
        scope.define(parseAttributeList(rest), line);
        break;
      case 'EXT-X-STREAM-INF':
        pendingVariant = line;
        break;
      case 'EXT-X-MEDIA': {
        const list = parseAttributeList(rest);
        const uri = uriAttr(list, 'URI', tag, line);
        const type = plain(list, 'TYPE');
        // Closed captions travel inside the video and may not have a URI; one that does is not
        // something a player would load.
        if (uri !== undefined)
          add(type === 'CLOSED-CAPTIONS' ? 'unknown' : 'rendition', tag, line, uri, detailOf(type));
        break;
      }
      case 'EXT-X-I-FRAME-STREAM-INF':
      case 'EXT-X-IMAGE-STREAM-INF':
      case 'EXT-X-SESSION-DATA':
      case 'EXT-X-MAP':
      case 'EXT-X-RENDITION-REPORT': {
        const uri = uriAttr(parseAttributeList(rest), 'URI', tag, line);
        if (uri !== undefined) add(SIMPLE_ROLES[tag], tag, line, uri);
        break;
      }
      case 'EXT-X-KEY':
      case 'EXT-X-SESSION-KEY': {
        const list = parseAttributeList(rest);
        if (plain(list, 'METHOD') === 'NONE') break;
        const uri = uriAttr(list, 'URI', tag, line);
        const role = tag === 'EXT-X-KEY' ? 'key' : 'session-key';
        if (uri !== undefined) add(role, tag, line, uri, detailOf(plain(list, 'KEYFORMAT')));
        break;
      }
      case 'EXT-X-PART': {
        const list = parseAttributeList(rest);
        const uri = uriAttr(list, 'URI', tag, line);
        if (uri !== undefined)
          add('part', tag, line, uri, plain(list, 'GAP') === 'YES' ? { gap: true } : {});
        break;
      }
      case 'EXT-X-PRELOAD-HINT': {
        const list = parseAttributeList(rest);
        const uri = uriAttr(list, 'URI', tag, line);
        if (uri !== undefined) add('preload-hint', tag, line, uri, detailOf(plain(list, 'TYPE')));
        break;
      }
      case 'EXT-X-CONTENT-STEERING': {
        const list = parseAttributeList(rest);
        const uri = uriAttr(list, 'SERVER-URI', tag, line);
        if (uri !== undefined)
          add('content-steering', tag, line, uri, detailOf(plain(list, 'PATHWAY-ID')));
        break;
      }
      case 'EXT-X-DATERANGE': {
        const list = parseAttributeList(rest);
        const asset = uriAttr(list, 'X-ASSET-URI', tag, line);
        const assetList = uriAttr(list, 'X-ASSET-LIST', tag, line);
        if (asset !== undefined) add('interstitial-asset', tag, line, asset);
        if (assetList !== undefined) add('asset-list', tag, line, assetList);
        break;
      }
      case 'EXT-X-GAP':
        pendingGap = true;
        break;
      case 'EXT-X-ENDLIST':
        endList = true;
        break;
      case 'EXT-X-SKIP':
        deltaUpdate = true;
        break;
      default:
        if (!KNOWN_TAGS.has(tag) && /(?:^|,)\s*[A-Z0-9-]*URI\s*=/.test(rest)) {
          const list = parseAttributeList(rest);
          for (const name of list.attrs.keys()) {
            if (name.endsWith('URI'))
              add('unknown', tag, line, uriAttr(list, name, tag, line)!, { detail: name });
          }
        }
    }
  }
  if (pendingVariant !== undefined)
    fail(pendingVariant, 'EXT-X-STREAM-INF is not followed by a URI line');
  if (multivariantTag !== undefined && mediaLine !== undefined) {
    fail(mediaLine, `a media segment in a multivariant playlist (it has ${multivariantTag})`);
  }
  const type = multivariantTag !== undefined ? 'multivariant' : 'media';
  if (type === 'multivariant' && scope.firstImportLine !== undefined) {
    fail(scope.firstImportLine, 'EXT-X-DEFINE IMPORT is not allowed in a multivariant playlist');
  }
  return { type, references, definitions: scope.definitions, endList, deltaUpdate };
}

const SIMPLE_ROLES = {
  'EXT-X-I-FRAME-STREAM-INF': 'i-frame-playlist',
  'EXT-X-IMAGE-STREAM-INF': 'image-playlist',
  'EXT-X-SESSION-DATA': 'session-data',
  'EXT-X-MAP': 'init',
  'EXT-X-RENDITION-REPORT': 'rendition-report',
} as const satisfies Record<string, ReferenceRole>;

function detailOf(value: string | undefined): Partial<Reference> {
  return value === undefined ? {} : { detail: value };
}

function resolve(uri: string, base: string): string | undefined {
  try {
    return new URL(uri, base).href;
  } catch {
    return undefined;
  }
}
