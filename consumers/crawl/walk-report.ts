import { CrawlError } from '../../schemas/errors.js';
import type { FileList } from './file-list.js';
import type { Reference } from './references.js';
import { redactQuery } from './source-key.js';
import type { GapRef, SkippedUri, SteeringReport, WalkResult } from './walk-types.js';

/**
 * What a walk reports besides its files: URIs not copied, gaps, steering servers and live
 * playlists, each listed once as it is found (a playlist may name one URI a million times), and
 * at most `max` of each, so that the report is bounded like the file list.
 */
export class WalkReport {
  private readonly skipped = new Map<string, SkippedUri>();
  private readonly gaps = new Map<string, GapRef>();
  private readonly steering: SteeringReport[] = [];
  private readonly live = new Set<string>();

  /** @param max most entries of each kind (COLONY_MAX_FILES_PER_CLASS). */
  constructor(private readonly max = Number.POSITIVE_INFINITY) {}

  skip(s: SkippedUri): void {
    const id = `${s.uri} ${s.reason}`;
    if (this.skipped.has(id)) return;
    this.bound(this.skipped.size, 'URIs not copied');
    this.skipped.set(id, s);
  }

  gap(g: GapRef): void {
    if (this.gaps.has(g.key)) return;
    this.bound(this.gaps.size, 'gaps');
    this.gaps.set(g.key, g);
  }

  steer(s: SteeringReport): void {
    this.bound(this.steering.length, 'content steering tags');
    this.steering.push(s);
  }

  /** A media playlist copied as a live window; one scanned again from another URL counts once. */
  markLive(key: string): void {
    this.live.add(key);
  }

  /** The report; a gap whose file is also named without EXT-X-GAP is a file, not a gap. */
  result(list: FileList): Omit<WalkResult, 'files' | 'manifestKey'> {
    return {
      skipped: [...this.skipped.values()],
      gaps: [...this.gaps.values()].filter((g) => !list.has(g.key)),
      steering: this.steering,
      live: [...this.live],
    };
  }

  private bound(size: number, what: string): void {
    if (size >= this.max)
      throw new CrawlError(
        `more than ${this.max} ${what} in one class (COLONY_MAX_FILES_PER_CLASS)`,
      );
  }
}

/** A URI not copied, with the reason; never with its query, and a data: URI only by its type. */
export function skipped(
  ref: Pick<Reference, 'uri' | 'url' | 'tag' | 'line'>,
  reason: string,
  playlist: string,
): SkippedUri {
  const uri = ref.url ?? ref.uri;
  // A data: URI can be kilobytes of base64 (a PSSH box): its media type is enough to recognise it.
  const shown = /^data:/i.test(uri)
    ? `${uri.slice(0, Math.min(40, uri.indexOf(',') + 1 || 40))}…`
    : redactQuery(uri);
  return { uri: shown, reason, tag: ref.tag, playlist: redactQuery(playlist), line: ref.line };
}
