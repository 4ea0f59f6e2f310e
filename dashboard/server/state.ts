import type {
  ClassSummary,
  DashboardEvents,
  PipelineStatus,
  ThroughputPoint,
} from '../../schemas/dashboard.js';
import { describeError } from '../../schemas/errors.js';
import { ClassActivity } from '../../streams/class-activity.js';
import { ClassStore } from '../../streams/class-store.js';
import type { Keys } from '../../streams/keys.js';
import type { Logger } from '../../streams/log.js';
import { readPipelineStatus } from '../../streams/pipeline-status.js';
import type { ColonyRedis } from '../../streams/redis.js';
import {
  SAMPLE_INTERVAL_MS,
  readThroughput,
  recordThroughputSample,
} from '../../streams/throughput.js';
import { ClassRates, summaryChanged } from './class-summary.js';

export type DashboardEvent = {
  [K in keyof DashboardEvents]: { event: K; data: DashboardEvents[K] };
}[keyof DashboardEvents];

export type DashboardStateOptions = {
  redis: ColonyRedis;
  keys: Keys;
  logger: Logger;
  /** How often running classes are read. Default 1000 ms. */
  pollMs?: number;
  /** Every n-th poll reads every class, finished ones too. Default 60. Finished classes that
   * change (a retried dead letter, a new version) are noticed at once from the streams; this is
   * the safety net. */
  fullScanEvery?: number;
  /** How often streams, groups and consumers are read. Default 2000 ms. */
  pipelineMs?: number;
};

/**
 * What the dashboard shows, read from Redis by one poller per service however many browsers
 * watch: every second the running classes and those the `classes` and `outcomes` streams name
 * (requested, finished, revived), every minute all of them; the pipeline every two seconds, a
 * throughput sample every ten. Each poll's changes go out as one event to every subscriber (the
 * server-sent events), so browsers never poll and an idle deployment costs a few reads.
 */
export class DashboardState {
  private readonly store: ClassStore;
  private readonly activity: ClassActivity;
  private readonly rates = new ClassRates();
  private readonly classes = new Map<string, ClassSummary>();
  private order: string[] = [];
  private readonly hot = new Set<string>();
  private readonly listeners = new Set<(e: DashboardEvent) => void>();
  private timers: NodeJS.Timeout[] = [];
  private polls = 0;
  private polling: Promise<void> | undefined;
  private failures = 0;
  private lastSampleAt = 0;
  pipeline: PipelineStatus | undefined;
  throughput: ThroughputPoint[] = [];
  /** When the classes were last read. */
  at = 0;

  constructor(private readonly o: DashboardStateOptions) {
    this.store = new ClassStore(o.redis, o.keys);
    this.activity = new ClassActivity(o.redis, o.keys);
  }

  /** Reads everything once, then keeps reading in the background. */
  async start(): Promise<void> {
    // A first read that fails (Redis restarting) leaves the page empty until a poll succeeds,
    // rather than keeping the service from starting.
    await this.guard('classes', async () => {
      await this.activity.start();
      await this.poll(true);
    });
    await this.guard('pipeline', () => this.pollPipeline());
    await this.guard('throughput', async () => {
      this.throughput = await readThroughput(this.o.redis, this.o.keys);
    });
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(() => void fn(), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.pollMs ?? 1000, () => this.guard('classes', () => this.poll(false)));
    every(this.o.pipelineMs ?? 2000, () => this.guard('pipeline', () => this.pollPipeline()));
    every(SAMPLE_INTERVAL_MS / 2, () => this.guard('throughput', () => this.sample()));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.listeners.clear();
  }

  subscribe(fn: (e: DashboardEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Every class, oldest request first. */
  list(): ClassSummary[] {
    const out: ClassSummary[] = [];
    for (const id of this.order) {
      const c = this.classes.get(id);
      if (c) out.push(c);
    }
    return out;
  }

  get(classId: string): ClassSummary | undefined {
    return this.classes.get(classId);
  }

  /** Files done and bytes moved over every class: what the throughput samples record. */
  totals(): { files: number; bytes: number } {
    let files = 0;
    let bytes = 0;
    for (const c of this.classes.values()) {
      files += c.done;
      bytes += c.bytes;
    }
    return { files, bytes };
  }

  /** Reads these classes on the next poll, finished or not (after a dead letter was retried). */
  touch(classIds: Iterable<string>): void {
    for (const id of classIds) this.hot.add(id);
  }

  /** Reads the pipeline now (after a retry or purge) rather than at the next interval. */
  async refreshPipeline(): Promise<void> {
    await this.guard('pipeline', () => this.pollPipeline());
  }

  private emit(e: DashboardEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  private async guard(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      this.failures = 0;
    } catch (err) {
      if (this.failures++ % 30 === 0)
        this.o.logger.warn('dashboard could not read from Redis', {
          what,
          err: describeError(err),
        });
    }
  }

  /**
   * Reads the running classes (or every class when `full`) and sends what changed. Polls run one
   * at a time: a slow Redis makes polls late, never piled up.
   */
  async poll(full = false): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = this.readClasses(full).finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async readClasses(forceFull: boolean): Promise<void> {
    const full = forceFull || ++this.polls % (this.o.fullScanEvery ?? 60) === 0;
    for (const id of await this.activity.since()) this.hot.add(id);
    const count = await this.store.count();
    const fresh: string[] = [];
    if (count !== this.order.length) {
      this.order = await this.store.list(count + 1000);
      for (const id of this.order) if (!this.classes.has(id)) fresh.push(id);
    }
    const ids = full
      ? this.order
      : [
          ...new Set([
            ...fresh,
            ...this.hot,
            ...[...this.classes.values()].filter((c) => !c.finished).map((c) => c.classId),
          ]),
        ];
    this.hot.clear();
    const now = Date.now();
    const states = await this.store.getMany(ids);
    const changed: ClassSummary[] = [];
    states.forEach((s) => {
      if (!s) return;
      const next = this.rates.summarize(s, now);
      const before = this.classes.get(s.classId);
      if (!summaryChanged(before, next)) return;
      this.classes.set(s.classId, next);
      changed.push(next);
      if (next.finished && !before?.finished)
        this.emit({ event: 'outcome', data: { classId: next.classId, status: next.status } });
    });
    this.at = now;
    if (changed.length) this.emit({ event: 'classes', data: { classes: changed } });
  }

  private async pollPipeline(): Promise<void> {
    this.pipeline = await readPipelineStatus(this.o.redis, this.o.keys);
    this.emit({ event: 'pipeline', data: this.pipeline });
  }

  private async sample(): Promise<void> {
    const now = Date.now();
    if (now - this.lastSampleAt < SAMPLE_INTERVAL_MS / 2) return;
    this.lastSampleAt = now;
    await recordThroughputSample(this.o.redis, this.o.keys, this.totals(), now);
    const points = await readThroughput(this.o.redis, this.o.keys, now);
    const last = points[points.length - 1];
    const known = this.throughput[this.throughput.length - 1];
    this.throughput = points;
    if (last && last.at !== known?.at) this.emit({ event: 'throughput', data: last });
  }
}
