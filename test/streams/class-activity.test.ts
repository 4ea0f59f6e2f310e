import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { SCHEMA_VERSION, type ClassOutcome, type ClassRequested } from '../../schemas/events.js';
import { ClassActivity } from '../../streams/class-activity.js';
import { Keys } from '../../streams/keys.js';
import { Publisher } from '../../streams/publisher.js';
import { TEST_REDIS_URL, deletePrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

const keys = new Keys(uniquePrefix('activity'));
const redis = await testRedis();
after(async () => {
  redis.disconnect();
  await deletePrefix(TEST_REDIS_URL, keys.prefix);
});

const requested = (classId: string): ClassRequested => ({
  type: 'class-completed',
  v: SCHEMA_VERSION,
  eventId: `e-${classId}`,
  classId,
  manifestUrl: 'https://cdn.example/a.m3u8',
  run: 1,
  requestedAt: 1,
});
const outcome = (classId: string): ClassOutcome => ({
  type: 'class-transferred',
  v: SCHEMA_VERSION,
  classId,
  manifestUrl: 'https://cdn.example/a.m3u8',
  dest: 'file:///tmp/x',
  files: 1,
  copied: 1,
  skipped: 0,
  failed: 0,
  bytes: 1,
  failures: [],
  retries: 0,
  startedAt: 1,
  finishedAt: 2,
  durationMs: 1,
  bytesPerSecond: 1,
  run: 1,
  revision: 2,
});

test('names the classes requested or finished since the last call, from the end of the streams on', async () => {
  // Prepare: history from before the reader started does not count.
  const publisher = new Publisher(redis, keys);
  await publisher.publish('classes', [requested('old')]);
  const activity = new ClassActivity(redis, keys);
  await activity.start();

  // Act
  await publisher.publish('classes', [requested('new-run')]);
  await publisher.publish('outcomes', [outcome('revived'), outcome('revived')]);
  const first = await activity.since();
  const second = await activity.since();
  await publisher.publish('outcomes', [outcome('later')]);
  const third = await activity.since();

  // Assess
  assert.deepEqual([...first].sort(), ['new-run', 'revived']);
  assert.deepEqual([...second], []);
  assert.deepEqual([...third], ['later']);
});
