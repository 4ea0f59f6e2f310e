import type { TestContext } from 'node:test';
import { SCHEMA_VERSION, type DeadLetter, type FileJobs } from '../../schemas/events.js';
import { decodeEntry, fieldsToRecord } from '../../streams/codec.js';
import { GroupRunner, type GroupRunnerOptions } from '../../streams/group-runner.js';
import { Keys } from '../../streams/keys.js';
import { Liveness, consumerName } from '../../streams/liveness.js';
import { silentLogger } from '../../streams/log.js';
import { Publisher } from '../../streams/publisher.js';
import { connectBlocking, connectRedis, type ColonyRedis } from '../../streams/redis.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix } from '../helpers/redis.js';

export const GROUP = 'test-group';

/** Options a test may set on a runner; the rest default to fast, test-sized values. */
export type RunnerOverrides = Partial<
  Omit<GroupRunnerOptions<'jobs'>, 'redis' | 'reader' | 'keys' | 'liveness'>
> & {
  livenessTtlMs?: number;
};

export type Harness = {
  prefix: string;
  redis: ColonyRedis;
  keys: Keys;
  publisher: Publisher;
  /** The `jobs` stream key the runners read (shard 0). */
  key: string;
  /** Starts a runner on `jobs` with its own blocking connection and liveness key. */
  startRunner(o: RunnerOverrides): Promise<GroupRunner<'jobs'>>;
};

/**
 * A fresh prefix, a command connection and a publisher; everything the test starts is stopped,
 * disconnected and deleted after it, so the test process exits.
 */
export async function harness(t: TestContext, name = 'gr'): Promise<Harness> {
  const prefix = uniquePrefix(name);
  const redis = await connectRedis(TEST_REDIS_URL, 'colony-test');
  const keys = new Keys(prefix);
  const runners: GroupRunner<'jobs'>[] = [];
  const livenesses: Liveness[] = [];
  const readers: { disconnect(): void }[] = [];
  t.after(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await Promise.all(livenesses.map((l) => l.stop()));
    for (const reader of readers) reader.disconnect();
    await deletePrefix(TEST_REDIS_URL, prefix);
    await redis.quit().catch(() => redis.disconnect());
  });
  return {
    prefix,
    redis,
    keys,
    publisher: new Publisher(redis, keys),
    key: keys.stream('jobs'),
    async startRunner(o) {
      const reader = await connectBlocking(TEST_REDIS_URL, 'colony-test-reader');
      readers.push(reader);
      const liveness = new Liveness(redis, keys, consumerName('test'), o.livenessTtlMs ?? 1000);
      await liveness.start();
      livenesses.push(liveness);
      const runner = new GroupRunner<'jobs'>({
        redis,
        reader,
        keys,
        liveness,
        stream: 'jobs',
        group: GROUP,
        logger: silentLogger,
        batchSize: 10,
        blockMs: 50,
        visibilityTimeoutMs: 1000,
        maxDeliveries: 5,
        stopTimeoutMs: 2000,
        handle: async () => {},
        ...o,
      });
      await runner.start();
      runners.push(runner);
      return runner;
    },
  };
}

/** A valid jobs entry: one batch of files of a class, with the given ordinals. */
export function jobs(ordinals: readonly number[], classId = 'class-1', run = 1): FileJobs {
  return {
    type: 'file-jobs',
    v: SCHEMA_VERSION,
    classId,
    run,
    files: ordinals.map((ordinal) => ({
      ordinal,
      url: `https://origin.test/hls/${classId}/seg${ordinal}.ts`,
      key: `hls/${classId}/seg${ordinal}.ts`,
    })),
  };
}

/** A valid jobs entry holding one file. */
export function job(ordinal: number, classId = 'class-1', run = 1): FileJobs {
  return jobs([ordinal], classId, run);
}

/** The ordinals of every file in the deliveries, in delivery order. */
export function ordinalsOf(deliveries: readonly { event: FileJobs }[]): number[] {
  return deliveries.flatMap((d) => d.event.files.map((f) => f.ordinal));
}

/** How many entries of the group are pending (delivered, not acked). */
export async function pendingCount(
  redis: ColonyRedis,
  key: string,
  group = GROUP,
): Promise<number> {
  const [count] = (await redis.xpending(key, group)) as [number, ...unknown[]];
  return Number(count);
}

/** Pending entries with their consumer, idle time and delivery count. */
export async function pendingEntries(
  redis: ColonyRedis,
  key: string,
  group = GROUP,
): Promise<{ id: string; consumer: string; idleMs: number; deliveries: number }[]> {
  const rows = (await redis.xpending(key, group, '-', '+', 1000)) as [
    string,
    string,
    number,
    number,
  ][];
  return rows.map(([id, consumer, idleMs, deliveries]) => ({
    id,
    consumer,
    idleMs: Number(idleMs),
    deliveries: Number(deliveries),
  }));
}

/** Every dead letter in a dead stream, decoded (which also checks they are valid entries). */
export async function deadLetters(redis: ColonyRedis, deadKey: string): Promise<DeadLetter[]> {
  const rows = await redis.xrange(deadKey, '-', '+');
  return rows.map(([, flat]) => decodeEntry('dead', fieldsToRecord(flat)));
}

/** The fields of one entry as stored. */
export async function entryFields(
  redis: ColonyRedis,
  key: string,
  id: string,
): Promise<Record<string, string>> {
  const [row] = await redis.xrange(key, id, id);
  if (!row) throw new Error(`entry ${id} not in ${key}`);
  return fieldsToRecord(row[1]);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A promise a test opens when it chooses. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}
