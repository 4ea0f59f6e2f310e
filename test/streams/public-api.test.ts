import assert from 'node:assert/strict';
import { test } from 'node:test';
// The package by its name, as a program of yours imports it (package.json `exports`).
import {
  ClassOutcome,
  GroupRunner,
  Keys,
  Liveness,
  SCHEMA_VERSION,
  StatusDocument,
  TransferDocument,
  connectReader,
  connectRedis,
  consumerName,
  createLogger,
  readHistory,
  type Delivery,
} from 'colony';
import { Publisher } from '../../streams/publisher.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/redis.js';

test("the README's consumer, on the public API: it gets the validated outcomes and stops cleanly", async (t) => {
  const prefix = uniquePrefix('api');
  t.after(() => deletePrefix(TEST_REDIS_URL, prefix));

  // As in README.md, "Attaching your own consumer".
  const keys = new Keys(prefix);
  const redis = await connectRedis(TEST_REDIS_URL, 'publish-to-cdn');
  const liveness = new Liveness(redis, keys, consumerName('publish-to-cdn'));
  await liveness.start();
  const published: string[] = [];
  const reader = await connectReader(redis, keys.stream('outcomes'), 'publish-to-cdn-reader');
  const runner = new GroupRunner({
    redis,
    keys,
    liveness,
    reader,
    logger: createLogger('error', 'publish-to-cdn'),
    stream: 'outcomes',
    group: 'publish-to-cdn',
    batchSize: 50,
    blockMs: 100,
    visibilityTimeoutMs: 60_000,
    maxDeliveries: 5,
    async handle(batch: Delivery<ClassOutcome>[]) {
      for (const { event } of batch)
        if (event.type === 'class-transferred') published.push(`${event.classId} ${event.dest}`);
    },
  });
  await runner.start();

  // An outcome, as the aggregator publishes it.
  const outcome: ClassOutcome = {
    type: 'class-transferred',
    v: SCHEMA_VERSION,
    classId: 'c-42',
    manifestUrl: 'https://cdn.example.com/c-42/master.m3u8',
    dest: 's3://library/c-42',
    files: 3,
    copied: 3,
    skipped: 0,
    failed: 0,
    bytes: 300,
    failures: [],
    retries: 0,
    startedAt: 1,
    finishedAt: 2,
    durationMs: 1,
    bytesPerSecond: 300_000,
    run: 1,
    revision: 1,
  };
  await new Publisher(redis, keys).publish('outcomes', [outcome]);

  await waitFor(async () => (published.length ? true : undefined), 10_000, 'the outcome');
  await runner.stop();
  await liveness.stop();
  reader.disconnect();

  assert.deepEqual(published, ['c-42 s3://library/c-42']);
  const history = [];
  for await (const e of readHistory({ redis, keys, stream: 'outcomes' })) history.push(e.event);
  assert.deepEqual(history, [outcome]);
  redis.disconnect();
  // The documents of the CLI are in the API too.
  assert.equal(typeof TransferDocument.parse, 'function');
  assert.equal(typeof StatusDocument.parse, 'function');
});
