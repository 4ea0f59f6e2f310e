import type { ClassFile } from './file-list.js';

/**
 * Fetches a playlist: its text, the URL it was finally served from (after redirects), and its
 * Content-Type when known (only used to explain a body that is not HLS).
 */
export type FetchText = (
  url: string,
) => Promise<{ text: string; finalUrl: string; contentType?: string }>;

/**
 * Whether the origin serves a file now. A preload hint of a live playlist names a part or map
 * the origin may not have produced yet: one it serves is copied, one it refuses is recorded.
 */
export type ProbeFile = (
  url: string,
) => Promise<{ served: true } | { served: false; reason: string }>;

export type WalkOptions = {
  fetchText: FetchText;
  /**
   * Asks the origin for a preload hint of a live playlist. Default: fetchText, where a permanent
   * error (404, 410, 403) means absent.
   */
  probe?: ProbeFile;
  /** Origins besides the manifest's own that may be fetched (COLONY_ALLOWED_ORIGINS). */
  allowedOrigins?: readonly string[];
  sourceBase?: string;
  /** Most playlists (and asset lists) one class may have: a guard against generated libraries. */
  maxPlaylists?: number;
  /** Largest playlist accepted, in bytes; fetchText should enforce it while reading, too. */
  maxPlaylistBytes?: number;
  /**
   * Most files one class may have (COLONY_MAX_FILES_PER_CLASS), and most URIs not copied and
   * gaps it may report. Default 1,000,000.
   */
  maxFiles?: number;
  /**
   * Most bytes one class's playlists may amount to, with what variable substitution adds to
   * them (COLONY_MAX_CRAWL_BYTES): the crawl's memory follows from it. Default 256 MiB.
   */
  maxCrawlBytes?: number;
  /** Longest URI, after variable substitution (COLONY_MAX_URI_LENGTH). Default 8192. */
  maxUriLength?: number;
  /** Copy the current window of a live playlist (no EXT-X-ENDLIST) instead of failing. */
  allowLive?: boolean;
  /** Playlists fetched at once. Default 8. */
  concurrency?: number;
};

/** A URI deliberately not copied, with the reason. URLs here never carry their query. */
export type SkippedUri = {
  uri: string;
  reason: string;
  tag: string;
  playlist: string;
  line: number;
};
/**
 * Allowed to be missing, so not a file job: an EXT-X-GAP segment, a GAP=YES part, or a preload
 * hint of a live playlist that the origin does not serve (yet), with `absent` saying why.
 */
export type GapRef = { url: string; key: string; playlist: string; absent?: string };
/** EXT-X-CONTENT-STEERING: reported; the steering server is not copied. */
export type SteeringReport = { serverUri: string; pathwayId?: string; playlist: string };

export type WalkResult = {
  files: ClassFile[];
  /** Destination key of the entry playlist (from its final URL, so its relative URIs still work). */
  manifestKey: string;
  skipped: SkippedUri[];
  gaps: GapRef[];
  steering: SteeringReport[];
  /** Keys of media playlists copied as a live window (only with allowLive). */
  live: string[];
};
