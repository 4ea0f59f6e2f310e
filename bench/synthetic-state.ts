import type { Keys } from '../streams/keys.js';
import type { ColonyRedis } from '../streams/redis.js';
import { SAMPLE_INTERVAL_MS, THROUGHPUT_HISTORY_MS } from '../streams/throughput.js';

export type SyntheticState = {
  classes: number;
  filesPerClass: number;
  /** Classes still copying (the rest transferred, a few failed, a few queued). */
  running: number;
  failed: number;
  queued: number;
};

export type Running = { classId: string; done: number };

const BYTES_PER_FILE = 600_000;

/** A done bitmap with the first `done` bits set, and `scattered` more further on. */
function bitmap(total: number, done: number, scattered: number[] = []): Buffer {
  const b = Buffer.alloc(Math.ceil(total / 8));
  b.fill(0xff, 0, done >> 3);
  for (let i = done & ~7; i < done; i++) b[i >> 3]! |= 0x80 >> (i & 7);
  for (const i of scattered) b[i >> 3]! |= 0x80 >> (i & 7);
  return b;
}

/**
 * Writes the state of a deployment mid-migration straight into Redis, as the stages would have
 * left it: class meta hashes, done bitmaps, failures, the class index, an hour of throughput
 * samples. 2,000 classes x 8,000 files is 16 million files and 2 MB of bitmaps.
 */
export async function writeSyntheticState(
  redis: ColonyRedis,
  keys: Keys,
  s: SyntheticState,
  now = Date.now(),
): Promise<Running[]> {
  const running: Running[] = [];
  const total = s.filesPerClass;
  for (let start = 0; start < s.classes; start += 100) {
    const p = redis.pipeline();
    for (let i = start; i < Math.min(s.classes, start + 100); i++) {
      const classId = `class-${String(i).padStart(5, '0')}`;
      const requestedAt = now - (s.classes - i) * 20_000;
      const kind =
        i < s.running
          ? 'running'
          : i < s.running + s.queued
            ? 'queued'
            : i < s.running + s.queued + s.failed
              ? 'failed'
              : 'transferred';
      const failures = kind === 'failed' ? Array.from({ length: 20 }, (_, k) => 37 + k * 391) : [];
      const done =
        kind === 'running'
          ? Math.floor((total * ((i % 10) + 1)) / 12)
          : kind === 'queued'
            ? 0
            : total;
      const meta: Record<string, string | number> = {
        classId,
        manifestUrl: `https://cdn.example.com/classes/${i}/master.m3u8`,
        dest: 's3://library/classes',
        title: `Fitness class ${i}: ${['HIIT', 'Yoga', 'Spin', 'Pilates', 'Strength'][i % 5]} with coach ${i % 37}`,
        status: kind === 'queued' ? 'queued' : kind === 'running' ? 'transferring' : kind,
        eventId: `evt-${i}`,
        requestedAt,
        run: 1,
      };
      if (kind !== 'queued') {
        Object.assign(meta, {
          crawled: 1,
          crawledAt: requestedAt + 2000,
          total,
          done,
          copied: done - failures.length,
          skipped: 0,
          failed: failures.length,
          bytes: (done - failures.length) * BYTES_PER_FILE,
          retries: i % 7,
        });
      }
      if (kind === 'transferred' || kind === 'failed')
        Object.assign(meta, { finishedAt: requestedAt + 600_000, revision: 1, published: 1 });
      p.hset(keys.classMeta(classId), meta);
      if (kind !== 'queued') p.set(keys.classDone(classId), bitmap(total, done, failures));
      for (const f of failures)
        p.hset(
          keys.classFailures(classId),
          String(f),
          JSON.stringify({
            path: `classes/${i}/v3/seg-${f}.ts`,
            reason: 'GET: HTTP 404 Not Found',
          }),
        );
      p.zadd(keys.classIndex(), requestedAt, classId);
      if (kind === 'running') running.push({ classId, done });
    }
    await p.exec();
  }
  const samples = redis.pipeline();
  let files = 0;
  for (let t = now - THROUGHPUT_HISTORY_MS; t <= now; t += SAMPLE_INTERVAL_MS) {
    files += 3000 + Math.round(1500 * Math.sin(t / 600_000));
    samples.zadd(keys.throughputSamples(), t, `${t}:${files}:${files * BYTES_PER_FILE}`);
  }
  await samples.exec();
  return running;
}

/** Lands `step` more files of each running class, as the aggregator would. */
export async function advance(
  redis: ColonyRedis,
  keys: Keys,
  running: Running[],
  total: number,
  step: number,
): Promise<void> {
  const p = redis.pipeline();
  for (const r of running) {
    const next = Math.min(total, r.done + step);
    for (let i = r.done; i < next; i++) p.setbit(keys.classDone(r.classId), i, 1);
    const n = next - r.done;
    if (n > 0) {
      p.hincrby(keys.classMeta(r.classId), 'done', n);
      p.hincrby(keys.classMeta(r.classId), 'copied', n);
      p.hincrby(keys.classMeta(r.classId), 'bytes', n * BYTES_PER_FILE);
    }
    r.done = next;
  }
  await p.exec();
}
