import type { ThroughputPoint } from '../schemas/dashboard.js';
import type { Keys } from './keys.js';
import type { ColonyRedis } from './scripts.js';

/** One sample per bucket; the chart shows the last hour of them. */
export const SAMPLE_INTERVAL_MS = 10_000;
export const THROUGHPUT_HISTORY_MS = 3_600_000;

export type Totals = { files: number; bytes: number };

/**
 * Records the deployment-wide totals (files done, bytes copied or skipped, over every class) for
 * the current bucket, and drops samples older than the history. Any number of services may
 * sample: a bucket someone sampled already is left alone, and samples are totals, not
 * increments, so a second writer cannot double count.
 */
export async function recordThroughputSample(
  redis: ColonyRedis,
  keys: Keys,
  totals: Totals,
  now = Date.now(),
): Promise<boolean> {
  const key = keys.throughputSamples();
  const bucket = Math.floor(now / SAMPLE_INTERVAL_MS) * SAMPLE_INTERVAL_MS;
  if ((await redis.zcount(key, bucket, bucket)) > 0) return false;
  await redis
    .multi()
    .zadd(key, bucket, `${bucket}:${Math.round(totals.files)}:${Math.round(totals.bytes)}`)
    .zremrangebyscore(key, '-inf', `(${bucket - THROUGHPUT_HISTORY_MS - SAMPLE_INTERVAL_MS}`)
    .exec();
  return true;
}

/**
 * Files and bytes per second between consecutive samples of the last hour. A total that went
 * down (a class started a new run, which clears its counts) counts as no progress.
 */
export async function readThroughput(
  redis: ColonyRedis,
  keys: Keys,
  now = Date.now(),
): Promise<ThroughputPoint[]> {
  const members = await redis.zrangebyscore(
    keys.throughputSamples(),
    now - THROUGHPUT_HISTORY_MS - SAMPLE_INTERVAL_MS,
    '+inf',
  );
  const byBucket = new Map<number, Totals>();
  for (const m of members) {
    const [at, files, bytes] = m.split(':').map(Number);
    if (!Number.isFinite(at) || !Number.isFinite(files) || !Number.isFinite(bytes)) continue;
    const seen = byBucket.get(at!);
    if (!seen || files! > seen.files) byBucket.set(at!, { files: files!, bytes: bytes! });
  }
  return throughputPoints([...byBucket.entries()].sort(([a], [b]) => a - b));
}

/** Rates between consecutive (time, totals) samples, ordered by time. */
export function throughputPoints(
  samples: readonly (readonly [number, Totals])[],
): ThroughputPoint[] {
  const points: ThroughputPoint[] = [];
  for (let i = 1; i < samples.length; i++) {
    const [t0, a] = samples[i - 1]!;
    const [t1, b] = samples[i]!;
    const seconds = (t1 - t0) / 1000;
    if (seconds <= 0) continue;
    points.push({
      at: t1,
      filesPerSecond: Math.max(0, (b.files - a.files) / seconds),
      bytesPerSecond: Math.max(0, (b.bytes - a.bytes) / seconds),
    });
  }
  return points;
}
