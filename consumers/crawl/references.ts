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

export type PlaylistScan = PlaylistSummary & {
  /** Every URI the playlist names, in playlist order. */
  references: Reference[];
};

/** What a scan says of the playlist as a whole, once every line is read. */
export type PlaylistSummary = {
  type: 'multivariant' | 'media';
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
  /** Longest URI accepted, after variable substitution (COLONY_MAX_URI_LENGTH). */
  maxUriLength?: number;
  /**
   * Told how many characters each variable substitution added: a few bytes of EXT-X-DEFINE can
   * make a playlist expand to gigabytes, so the caller keeps the expansion within a budget.
   */
  onExpand?: (added: number, line: number) => void;
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
  const references: Reference[] = [];
  const summary = scanReferences(text, baseUrl, o, (ref) => references.push(ref));
  return { ...summary, references };
}

/**
 * {@link listReferences}, handing each reference to `onReference` as its line is read instead of
 * collecting them: the memory a playlist takes is then what the caller keeps, not one object per
 * line. The summary comes last, so a playlist that fails to parse fails after some references
 * were handed over.
 */
export function scanReferences(
  text: string,
  baseUrl: string,
  o: ListOptions,
  onReference: (ref: Reference) => void,
): PlaylistSummary {
  const scanner = new PlaylistScanner(baseUrl, o, onReference);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // Line by line without splitting: a 16 MB playlist would otherwise be millions of strings at once.
  const eol = /\r\n|\r|\n/g;
  let start = 0;
  for (let line = 1; ; line++) {
    const m = eol.exec(body);
    scanner.scanLine(body.slice(start, m ? m.index : body.length).trim(), line);
    if (!m) break;
    start = eol.lastIndex;
  }
  return scanner.finish();
}

/** The state of one line scan: what the lines seen so far named, and what they left pending. */
class PlaylistScanner {
  private readonly scope: VariableScope;
  private pendingVariant: number | undefined;
  private pendingGap = false;
  private endList = false;
  private deltaUpdate = false;
  private multivariantTag: string | undefined;
  private mediaLine: number | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly o: ListOptions,
    private readonly onReference: (ref: Reference) => void,
  ) {
    this.scope = new VariableScope(baseUrl, {
      requestUrl: o.requestUrl ?? baseUrl,
      finalUrl: baseUrl,
      imports: o.imports,
    });
  }

  /** One trimmed line: a URI line, a tag, a comment or nothing. */
  scanLine(trimmed: string, line: number): void {
    if (trimmed === '') return;
    if (!trimmed.startsWith('#')) return this.uriLine(this.expand(trimmed, line), line);
    if (!trimmed.startsWith('#EXT')) return; // a comment
    const colon = trimmed.indexOf(':');
    const tag = (colon === -1 ? trimmed.slice(1) : trimmed.slice(1, colon)).trim();
    const rest = colon === -1 ? '' : trimmed.slice(colon + 1);
    if (MULTIVARIANT_TAGS.has(tag)) this.multivariantTag ??= tag;
    if (tag === 'EXTINF') this.mediaLine ??= line;
    this.tagLine(tag, rest, line);
  }

  /** The checks that need the whole playlist, and the result. */
  finish(): PlaylistSummary {
    if (this.pendingVariant !== undefined)
      this.fail(this.pendingVariant, 'EXT-X-STREAM-INF is not followed by a URI line');
    if (this.multivariantTag !== undefined && this.mediaLine !== undefined) {
      this.fail(
        this.mediaLine,
        `a media segment in a multivariant playlist (it has ${this.multivariantTag})`,
      );
    }
    const type = this.multivariantTag !== undefined ? 'multivariant' : 'media';
    if (type === 'multivariant' && this.scope.firstImportLine !== undefined) {
      this.fail(
        this.scope.firstImportLine,
        'EXT-X-DEFINE IMPORT is not allowed in a multivariant playlist',
      );
    }
    const { endList, deltaUpdate } = this;
    return { type, definitions: this.scope.definitions, endList, deltaUpdate };
  }

  /** A URI line: the variant of a pending EXT-X-STREAM-INF, or a media segment. */
  private uriLine(uri: string, line: number): void {
    if (this.pendingVariant !== undefined) {
      this.add('variant', 'EXT-X-STREAM-INF', line, uri);
      this.pendingVariant = undefined;
    } else {
      this.mediaLine ??= line;
      this.add('segment', 'URI line', line, uri, this.pendingGap ? { gap: true } : {});
      this.pendingGap = false;
    }
  }

  private tagLine(tag: string, rest: string, line: number): void {
    switch (tag) {
      case 'EXT-X-DEFINE':
        this.scope.define(parseAttributeList(rest), line);
        break;
      case 'EXT-X-STREAM-INF':
        this.pendingVariant = line;
        break;
      case 'EXT-X-MEDIA':
        this.media(parseAttributeList(rest), line);
        break;
      case 'EXT-X-I-FRAME-STREAM-INF':
      case 'EXT-X-IMAGE-STREAM-INF':
      case 'EXT-X-SESSION-DATA':
      case 'EXT-X-MAP':
      case 'EXT-X-RENDITION-REPORT': {
        const uri = this.uriAttr(parseAttributeList(rest), 'URI', tag, line);
        if (uri !== undefined) this.add(SIMPLE_ROLES[tag], tag, line, uri);
        break;
      }
      case 'EXT-X-KEY':
      case 'EXT-X-SESSION-KEY':
        this.key(parseAttributeList(rest), tag, line);
        break;
      case 'EXT-X-PART':
      case 'EXT-X-PRELOAD-HINT':
      case 'EXT-X-CONTENT-STEERING':
        this.oneUri(parseAttributeList(rest), tag, line);
        break;
      case 'EXT-X-DATERANGE':
        this.dateRange(parseAttributeList(rest), line);
        break;
      case 'EXT-X-GAP':
        this.pendingGap = true;
        break;
      case 'EXT-X-ENDLIST':
        this.endList = true;
        break;
      case 'EXT-X-SKIP':
        this.deltaUpdate = true;
        break;
      default:
        if (!KNOWN_TAGS.has(tag) && /(?:^|,)\s*[A-Z0-9-]*URI\s*=/.test(rest))
          this.unknownTag(parseAttributeList(rest), tag, line);
    }
  }

  private media(list: AttributeList, line: number): void {
    const tag = 'EXT-X-MEDIA';
    const uri = this.uriAttr(list, 'URI', tag, line);
    const type = plain(list, 'TYPE');
    // Closed captions travel inside the video and may not have a URI; one that does is not
    // something a player would load.
    if (uri !== undefined)
      this.add(
        type === 'CLOSED-CAPTIONS' ? 'unknown' : 'rendition',
        tag,
        line,
        uri,
        detailOf(type),
      );
  }

  private key(list: AttributeList, tag: 'EXT-X-KEY' | 'EXT-X-SESSION-KEY', line: number): void {
    if (plain(list, 'METHOD') === 'NONE') return;
    const uri = this.uriAttr(list, 'URI', tag, line);
    const role = tag === 'EXT-X-KEY' ? 'key' : 'session-key';
    if (uri !== undefined) this.add(role, tag, line, uri, detailOf(plain(list, 'KEYFORMAT')));
  }

  /** EXT-X-PART, EXT-X-PRELOAD-HINT and EXT-X-CONTENT-STEERING: one URI and a detail. */
  private oneUri(list: AttributeList, tag: string, line: number): void {
    const steering = tag === 'EXT-X-CONTENT-STEERING';
    const uri = this.uriAttr(list, steering ? 'SERVER-URI' : 'URI', tag, line);
    if (uri === undefined) return;
    if (tag === 'EXT-X-PART')
      this.add('part', tag, line, uri, plain(list, 'GAP') === 'YES' ? { gap: true } : {});
    else if (steering)
      this.add('content-steering', tag, line, uri, detailOf(plain(list, 'PATHWAY-ID')));
    else this.add('preload-hint', tag, line, uri, detailOf(plain(list, 'TYPE')));
  }

  /** EXT-X-DATERANGE: an interstitial's asset playlist and its asset list. */
  private dateRange(list: AttributeList, line: number): void {
    const tag = 'EXT-X-DATERANGE';
    const asset = this.uriAttr(list, 'X-ASSET-URI', tag, line);
    const assetList = this.uriAttr(list, 'X-ASSET-LIST', tag, line);
    if (asset !== undefined) this.add('interstitial-asset', tag, line, asset);
    if (assetList !== undefined) this.add('asset-list', tag, line, assetList);
  }

  /** A tag we do not know that carries `...URI=` attributes: reported, never followed. */
  private unknownTag(list: AttributeList, tag: string, line: number): void {
    for (const name of list.attrs.keys()) {
      if (name.endsWith('URI'))
        this.add('unknown', tag, line, this.uriAttr(list, name, tag, line)!, { detail: name });
    }
  }

  private add(
    role: ReferenceRole,
    tag: string,
    line: number,
    uri: string,
    extra: Partial<Reference> = {},
  ): void {
    if (uri === '') this.fail(line, `${tag} has an empty URI`);
    const url = resolve(uri, this.baseUrl);
    // Resolved too: a relative URI grows by the playlist's own URL, and a job's URL has a limit.
    const length = Math.max(uri.length, url?.length ?? 0);
    const max = this.o.maxUriLength;
    if (max !== undefined && length > max) {
      this.fail(
        line,
        `${tag} names a URI of ${length} characters (after variable substitution and resolution), over the limit of ${max} (COLONY_MAX_URI_LENGTH)`,
      );
    }
    this.onReference({ role, tag, line, uri, url, ...extra });
  }

  /** The substituted value of an attribute that carries a URI; a repeated one is ambiguous. */
  private uriAttr(
    list: AttributeList,
    name: string,
    tag: string,
    line: number,
  ): string | undefined {
    if (list.duplicates.includes(name)) this.fail(line, `${tag} gives ${name} more than once`);
    const a = list.attrs.get(name);
    return a === undefined ? undefined : this.expand(a.value, line);
  }

  /** Variables substituted, and what that added reported to the caller's budget. */
  private expand(text: string, line: number): string {
    const out = this.scope.substitute(text, line, this.o.maxUriLength);
    if (out.length > text.length) this.o.onExpand?.(out.length - text.length, line);
    return out;
  }

  private fail(line: number, why: string): never {
    throw new CrawlError(`${redactQuery(this.baseUrl)} line ${line}: ${why}`);
  }
}

function plain(list: AttributeList, name: string): string | undefined {
  return list.attrs.get(name)?.value;
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
