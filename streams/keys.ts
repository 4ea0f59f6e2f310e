import type { StreamName } from '../schemas/events.js';

/**
 * Every Redis key colony writes, from one place. Keys are Redis Cluster safe: the keys that one
 * script touches share a hash tag. Stream shard `n` of every stream carries the tag `{n}`, so a
 * shard of `jobs` and the `dead` stream it dead-letters into sit in one slot, and the hot streams
 * (`jobs`, `results`) spread over the cluster when COLONY_SHARDS > 1. Everything of one class is
 * under `{class:<id>}`.
 */
export class Keys {
  constructor(
    readonly prefix: string,
    readonly shards = 1,
  ) {}

  /** How many shards a stream has: the hot streams are split, the others are one stream. */
  shardCount(name: StreamName): number {
    return name === 'jobs' || name === 'results' || name === 'dead' ? this.shards : 1;
  }

  stream(name: StreamName, shard = 0): string {
    return `${this.prefix}:${name}:{${shard}}`;
  }

  allShards(name: StreamName): string[] {
    return Array.from({ length: this.shardCount(name) }, (_, i) => this.stream(name, i));
  }

  /** The shard of a hot stream for a class and a spread value (the publisher passes a batch's
   * first ordinal, scaled): stable for the same inputs. */
  shardOf(name: StreamName, classId: string, ordinal: number): number {
    const n = this.shardCount(name);
    return n === 1 ? 0 : (fnv1a(classId) + ordinal) % n;
  }

  /** The dead-letter stream in the same slot as a source stream key. */
  deadFor(sourceKey: string): string {
    const tag = /\{(\d+)\}$/.exec(sourceKey);
    const shard = tag ? Number(tag[1]) : 0;
    return this.stream('dead', shard % this.shardCount('dead'));
  }

  classMeta(classId: string): string {
    return `${this.prefix}:{class:${classId}}:meta`;
  }

  /** Bitmap with one bit per ordinal: set once the file reached a terminal state. */
  classDone(classId: string): string {
    return `${this.prefix}:{class:${classId}}:done`;
  }

  /** Hash ordinal -> JSON { path, reason } of the files that failed. */
  classFailures(classId: string): string {
    return `${this.prefix}:{class:${classId}}:failures`;
  }

  /** Hash version -> event id of every request of the class: what deduplicates webhooks. */
  classEvents(classId: string): string {
    return `${this.prefix}:{class:${classId}}:events`;
  }

  /** Sorted set of every class id, scored by the time it was first requested. */
  classIndex(): string {
    return `${this.prefix}:index:classes`;
  }

  /** Sorted set of deployment-wide totals (files and bytes done), sampled every few seconds by
   * the services that serve the dashboard: the throughput chart's history. */
  throughputSamples(): string {
    return `${this.prefix}:samples:throughput`;
  }

  /** Liveness key of a consumer: while it exists, the consumer is alive. */
  alive(consumer: string): string {
    return `${this.prefix}:alive:${consumer}`;
  }
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
