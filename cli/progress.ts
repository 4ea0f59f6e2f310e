import type { ClassState } from '../schemas/class-state.js';
import { formatBytes } from './report.js';
import { plural } from './command-kit.js';

/** What the classes of a run add up to at one moment. */
export type Totals = {
  classes: number;
  finished: number;
  crawling: number;
  /** Files tracked so far (grows while classes are crawled). */
  total: number;
  done: number;
  failed: number;
  bytes: number;
};

export function totalsOf(states: readonly (ClassState | undefined)[]): Totals {
  const t: Totals = {
    classes: states.length,
    finished: 0,
    crawling: 0,
    total: 0,
    done: 0,
    failed: 0,
    bytes: 0,
  };
  for (const s of states) {
    if (!s) {
      t.crawling++;
      continue;
    }
    t.total += s.total;
    t.done += s.done;
    t.bytes += s.bytes;
    t.failed += s.failed;
    if (s.status === 'transferred' || s.status === 'failed') t.finished++;
    else if (!s.crawled) t.crawling++;
  }
  return t;
}

/**
 * A rate over a sliding window. Counts move a batch (up to 100 files) at a time, so the rate
 * between two samples jumps between 0 and hundreds; over a window of several batches it is
 * what a person means by "files per second". Undefined until two samples are a moment apart.
 */
export class RateWindow {
  private readonly samples: { at: number; value: number }[] = [];

  constructor(private readonly windowMs = 10_000) {}

  add(at: number, value: number): void {
    this.samples.push({ at, value });
    // Keep one sample older than the window, so that the window is always fully covered.
    while (this.samples.length > 2 && this.samples[1]!.at <= at - this.windowMs)
      this.samples.shift();
  }

  /** Units per second over the window, or undefined before there is a window to speak of. */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 1000) return undefined;
    return ((last.value - first.value) * 1000) / (last.at - first.at);
  }
}

const BAR_WIDTH = 20;

/**
 * Progress on stderr for `colony transfer`, after rclone's -P: on a terminal one line redrawn in
 * place with a bar, files, bytes, smoothed rates and the ETA; otherwise (logs, CI) a plain line
 * every few seconds. The last line gives the averages over the run.
 */
export class Progress {
  private readonly started: number;
  private readonly files = new RateWindow();
  private readonly bytes = new RateWindow();
  private first: Totals | undefined;
  private last: Totals | undefined;
  private lastLineAt = 0;
  private drawn = false;
  private ended = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly enabled: boolean,
    private readonly now: () => number = Date.now,
    private readonly plainEveryMs = 5000,
  ) {
    this.started = now();
  }

  update(states: readonly (ClassState | undefined)[]): void {
    if (!this.enabled || this.ended) return;
    const t = totalsOf(states);
    const at = this.now();
    this.first ??= t;
    this.last = t;
    this.files.add(at, t.done);
    this.bytes.add(at, t.bytes);
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[K${fit(this.line(t, at, true), this.out.columns)}`);
      this.drawn = true;
    } else if (at - this.lastLineAt >= this.plainEveryMs) {
      this.out.write(`${this.line(t, at, false)}\n`);
      this.lastLineAt = at;
    }
  }

  /** Ends the display with the averages over the run; safe to call twice. */
  end(): void {
    if (!this.enabled || this.ended) return;
    this.ended = true;
    if (this.drawn) this.out.write('\r\x1b[K');
    const summary = this.summary();
    if (summary) this.out.write(summary + '\n');
  }

  /** The figures of the moment, as one line. */
  line(t: Totals, at: number, bar: boolean): string {
    const parts: string[] = [];
    const known = t.crawling === 0 && t.total > 0;
    const pct = known ? Math.floor((100 * t.done) / t.total) : undefined;
    if (bar) parts.push(drawBar(known ? t.done / t.total : undefined));
    if (pct !== undefined) parts.push(`${String(pct).padStart(3)}%`);
    parts.push(
      `${t.done}/${t.total}${t.crawling ? '+' : ''} files${t.failed ? ` (${t.failed} failed)` : ''}`,
    );
    parts.push(formatBytes(t.bytes));
    const files = this.files.rate();
    const bytes = this.bytes.rate();
    parts.push(files === undefined ? '- files/s' : `${formatRate(files)} files/s`);
    parts.push(bytes === undefined ? '- B/s' : `${formatBytes(bytes)}/s`);
    parts.push(`ETA ${known && files ? formatDuration(((t.total - t.done) / files) * 1000) : '-'}`);
    parts.push(
      `classes ${t.finished}/${t.classes}${t.crawling ? ` (${t.crawling} crawling)` : ''}`,
    );
    parts.push(formatDuration(at - this.started));
    return parts.join('  ');
  }

  /** Files and bytes moved by this run, and their averages; undefined when nothing moved. */
  summary(): string | undefined {
    if (!this.first || !this.last) return undefined;
    const files = this.last.done - this.first.done;
    const bytes = this.last.bytes - this.first.bytes;
    if (files <= 0) return undefined;
    const ms = Math.max(1, this.now() - this.started);
    return (
      `${plural(files, 'file')}, ${formatBytes(bytes)} in ${ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms)}: ` +
      `average ${formatRate((files * 1000) / ms)} files/s, ${formatBytes((bytes * 1000) / ms)}/s`
    );
  }
}

function drawBar(fraction: number | undefined): string {
  if (fraction === undefined) return `[${'.'.repeat(BAR_WIDTH)}]`;
  const full = Math.min(BAR_WIDTH, Math.floor(fraction * BAR_WIDTH));
  const head = full < BAR_WIDTH ? '>' : '';
  return `[${'='.repeat(full)}${head}${' '.repeat(Math.max(0, BAR_WIDTH - full - head.length))}]`;
}

/** Whole numbers from 10 up, one decimal below: 0.4, 3.5, 12, 840. */
export function formatRate(n: number): string {
  return n >= 10 ? String(Math.round(n)) : n.toFixed(1);
}

/** 45s, 3m05s, 2h01m. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A line cut to the terminal's width: a wrapped line cannot be redrawn in place. */
function fit(line: string, columns: number | undefined): string {
  return columns && line.length >= columns ? line.slice(0, columns - 1) : line;
}
