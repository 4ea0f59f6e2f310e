import type { StreamName } from '../schemas/events.js';
import { SLOTS, keySlot } from './key-slot.js';

/**
 * Every Redis key colony writes, from one place. Keys are Redis Cluster safe: the keys that one
 * script touches share a hash tag. Stream shard `n` of every stream carries the shard's tag (see
 * {@link shardTag}), so a shard of `jobs` and the `dead` stream it dead-letters into sit in one
 * slot, and the hot streams (`jobs`, `results`) spread over the cluster's masters when
 * COLONY_SHARDS > 1. Everything of one class is under `{class:<id>}`.
 */
export class Keys {
  private readonly tags: string[];

  constructor(
    readonly prefix: string,
    readonly shards = 1,
  ) {
    this.tags = Array.from({ length: shards }, (_, n) => shardTag(n, shards));
  }

  /** How many shards a stream has: the hot streams are split, the others are one stream. */
  shardCount(name: StreamName): number {
    return name === 'jobs' || name === 'results' || name === 'dead' ? this.shards : 1;
  }

  stream(name: StreamName, shard = 0): string {
    return `${this.prefix}:${name}:{${this.tags[shard] ?? shardTag(shard, this.shards)}}`;
  }

  /** The hash tag of stream shard `n`: every key that must sit in that shard's slot carries it. */
  tagOf(shard: number): string {
    return this.tags[shard] ?? shardTag(shard, this.shards);
  }

  /** The shard number of a stream shard key (0 for a key without a shard tag). */
  shardOfKey(key: string): number {
    const tag = /\{(\d+)(?:\.\d+)?\}$/.exec(key);
    return tag ? Number(tag[1]) : 0;
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
    return this.stream('dead', this.shardOfKey(sourceKey) % this.shardCount('dead'));
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

  /** Lease of the service that runs the scheduled trim (serve's COLONY_TRIM_INTERVAL_MS). */
  trimLease(): string {
    return `${this.prefix}:trim-lease`;
  }

  /** Liveness key of a consumer: while it exists, the consumer is alive. */
  alive(consumer: string): string {
    return `${this.prefix}:alive:${consumer}`;
  }
}

/**
 * The hash tag of stream shard `n` of `count`. Shard 0 is always `0` (so a single-shard
 * deployment has the keys it always had, and `classes` and `outcomes` share the slot of shard 0
 * of `dead`). The others are `n`, or `n.j` with the first `j` that puts the shard near the slot
 * `slot("0") + n * 16384 / count`: the shards sit evenly around the slot ring, so they spread
 * over masters that hold equal slot ranges (as `redis-cli --cluster create` makes them), whatever
 * the number of masters that divides `count`.
 */
export function shardTag(n: number, count: number): string {
  if (n === 0 || count <= 1) return String(n);
  const memo = tagMemo.get(`${n}/${count}`);
  if (memo !== undefined) return memo;
  const tag = searchTag(n, count);
  tagMemo.set(`${n}/${count}`, tag);
  return tag;
}

const tagMemo = new Map<string, string>();

function searchTag(n: number, count: number): string {
  const width = SLOTS / count;
  const target = (keySlot('0') + n * width) % SLOTS;
  const tolerance = Math.max(1, Math.floor(width / 8));
  const near = (tag: string) => {
    const d = Math.abs(keySlot(tag) - target);
    return Math.min(d, SLOTS - d) <= tolerance;
  };
  if (near(String(n))) return String(n);
  for (let j = 0; ; j++) {
    const tag = `${n}.${j}`;
    if (near(tag)) return tag;
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
