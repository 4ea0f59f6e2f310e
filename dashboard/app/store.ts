import { useEffect, useState } from 'preact/hooks';
import type {
  ClassSummary,
  DashboardEvents,
  DeadLetterList,
  PipelineStatus,
  ThroughputPoint,
} from '../../schemas/dashboard.js';
import { api } from './api.js';

export type Connection = 'connecting' | 'live' | 'paused' | 'reconnecting';

/** Points kept for the chart: an hour of 10-second samples. */
const MAX_POINTS = 400;

/**
 * What the page shows, kept up to date by the server-sent events of /api/events: the first view
 * comes from one GET of each list, then only changes travel. Paused, the event stream is closed
 * and nothing changes until resumed (which loads everything again).
 */
export class DashboardStore {
  classes = new Map<string, ClassSummary>();
  /** Bumped when a class is added or finishes, or its file count changes: the list's order and
   * heights may have changed. Counts alone do not bump it. */
  layoutVersion = 0;
  version = 0;
  pipeline: PipelineStatus | undefined;
  throughput: ThroughputPoint[] = [];
  deadLetters: DeadLetterList | undefined;
  connection: Connection = 'connecting';
  credential: 'bearer' | 'cookie' | 'open' = 'open';
  error: string | undefined;
  /** When the last event was applied (performance.now()), to measure what an update costs. */
  updateStartedAt: number | undefined;
  private source: EventSource | undefined;
  private readonly listeners = new Set<() => void>();
  private loadedDeadLettersFor = -1;

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(layout = false): void {
    this.version++;
    if (layout) this.layoutVersion++;
    for (const fn of this.listeners) fn();
  }

  async start(): Promise<void> {
    await this.loadAll();
    void api.session().then((s) => {
      this.credential = s.credential;
      this.changed();
    });
    this.connect();
  }

  get paused(): boolean {
    return this.connection === 'paused';
  }

  pause(): void {
    this.source?.close();
    this.source = undefined;
    this.connection = 'paused';
    this.changed();
  }

  resume(): void {
    this.connection = 'connecting';
    this.changed();
    void this.loadAll().then(() => this.connect());
  }

  private async loadAll(): Promise<void> {
    try {
      const [list, pipeline, throughput] = await Promise.all([
        api.classes(),
        api.pipeline(),
        api.throughput(),
      ]);
      this.classes = new Map(list.classes.map((c) => [c.classId, c]));
      this.pipeline = pipeline;
      this.throughput = throughput.points.slice(-MAX_POINTS);
      this.error = undefined;
      this.changed(true);
      void this.loadDeadLetters();
    } catch (err) {
      this.error = (err as Error).message;
      this.changed();
    }
  }

  async loadDeadLetters(): Promise<void> {
    this.loadedDeadLettersFor = this.pipeline?.deadLetters ?? 0;
    this.deadLetters = await api.deadLetters();
    this.changed();
  }

  private connect(): void {
    if (this.paused) return;
    const source = new EventSource('/api/events');
    this.source = source;
    let opened = false;
    source.addEventListener('hello', () => {
      // A reconnect may have missed events: load everything again.
      if (opened || this.connection === 'reconnecting') void this.loadAll();
      opened = true;
      this.connection = 'live';
      this.changed();
    });
    source.addEventListener('error', () => {
      if (this.paused) return;
      this.connection = 'reconnecting';
      this.changed();
    });
    const on = <K extends keyof DashboardEvents>(name: K, fn: (data: DashboardEvents[K]) => void) =>
      source.addEventListener(name, (e) => {
        if (this.paused) return;
        this.updateStartedAt = performance.now();
        fn(JSON.parse((e as MessageEvent<string>).data) as DashboardEvents[K]);
      });
    on('classes', ({ classes }) => {
      let layout = false;
      for (const c of classes) {
        const before = this.classes.get(c.classId);
        if (!before || before.finished !== c.finished || before.total !== c.total) layout = true;
        this.classes.set(c.classId, c);
      }
      this.changed(layout);
    });
    on('pipeline', (p) => {
      this.pipeline = p;
      this.changed();
      if (p.deadLetters !== this.loadedDeadLettersFor) void this.loadDeadLetters();
    });
    on('throughput', (point) => {
      this.throughput = [...this.throughput, point].slice(-MAX_POINTS);
      this.changed();
    });
    on('outcome', () => {
      // The classes event that comes with it carries the new state.
    });
  }
}

/** Re-renders the calling component whenever the store changes. */
export function useStore(store: DashboardStore): number {
  const [version, setVersion] = useState(store.version);
  useEffect(() => store.subscribe(() => setVersion(store.version)), [store]);
  return version;
}
