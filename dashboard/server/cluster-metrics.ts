import { Gauge } from 'prom-client';
import { metricsRegistry } from '../../streams/metrics.js';
import type { DashboardState } from './state.js';

/**
 * Gauges of the whole deployment, computed from the dashboard's snapshot of Redis when
 * Prometheus scrapes: the same values from every service that serves /metrics (query one, or
 * take max()). The process counters next to them (streams/metrics.ts) say what each process did.
 */
let source: DashboardState | undefined;
let registered = false;

const shardOf = (key: string) => /\{(\d+)\}$/.exec(key)?.[1] ?? '0';

/** Registers the deployment gauges (once; they read nothing until a state is exposed). */
export function registerClusterMetrics(): void {
  if (registered) return;
  registered = true;
  const registers = [metricsRegistry];
  new Gauge({
    name: 'colony_classes',
    help: 'Classes in Redis by status (queued, transferring, transferred, failed)',
    labelNames: ['status'] as const,
    registers,
    collect() {
      this.reset();
      if (!source) return;
      for (const status of ['queued', 'transferring', 'transferred', 'failed'] as const)
        this.set({ status }, 0);
      for (const c of source.list()) this.inc({ status: c.status });
    },
  });
  new Gauge({
    name: 'colony_class_files',
    help: 'Files tracked over every class by state (pending, copied, skipped, failed)',
    labelNames: ['status'] as const,
    registers,
    collect() {
      this.reset();
      if (!source) return;
      const n = { pending: 0, copied: 0, skipped: 0, failed: 0 };
      for (const c of source.list()) {
        n.pending += Math.max(0, c.total - c.done);
        n.copied += c.copied;
        n.skipped += c.skipped;
        n.failed += c.failed;
      }
      for (const [status, v] of Object.entries(n)) this.set({ status }, v);
    },
  });
  new Gauge({
    name: 'colony_class_bytes',
    help: 'Bytes of the files copied or skipped, over every class',
    registers,
    collect() {
      this.reset();
      if (source) this.set(source.totals().bytes);
    },
  });
  new Gauge({
    name: 'colony_class_retries',
    help: 'Copy attempts beyond the first, over every class',
    registers,
    collect() {
      this.reset();
      if (source) this.set(source.list().reduce((n, c) => n + c.retries, 0));
    },
  });
  new Gauge({
    name: 'colony_dead_letters',
    help: 'Entries in the dead-letter stream (every shard)',
    registers,
    collect() {
      this.reset();
      if (source?.pipeline) this.set(source.pipeline.deadLetters);
    },
  });
  new Gauge({
    name: 'colony_stream_length',
    help: 'Entries in each stream shard',
    labelNames: ['stream', 'shard'] as const,
    registers,
    collect() {
      this.reset();
      for (const s of source?.pipeline?.streams ?? [])
        this.set({ stream: s.stream, shard: shardOf(s.key) }, s.length);
    },
  });
  for (const [name, help, value] of [
    ['colony_group_lag', 'Entries of a stream shard not yet delivered to a consumer group', 'lag'],
    [
      'colony_group_pending',
      'Entries delivered to a consumer group and not yet acknowledged',
      'pending',
    ],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['stream', 'shard', 'group'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of source?.pipeline?.streams ?? [])
          for (const g of s.groups) {
            const v = g[value];
            if (v !== null) this.set({ stream: s.stream, shard: shardOf(s.key), group: g.name }, v);
          }
      },
    });
  }
  new Gauge({
    name: 'colony_consumers',
    help: 'Consumers of each group, by whether their process is alive (its liveness key exists)',
    labelNames: ['stream', 'group', 'alive'] as const,
    registers,
    collect() {
      this.reset();
      for (const s of source?.pipeline?.streams ?? [])
        for (const g of s.groups)
          for (const c of g.consumers)
            this.inc({ stream: s.stream, group: g.name, alive: String(c.alive) });
    },
  });
}

/** Serves the deployment gauges from this state (the last one started, in a test process). */
export function exposeClusterMetrics(state: DashboardState): () => void {
  registerClusterMetrics();
  source = state;
  return () => {
    if (source === state) source = undefined;
  };
}
