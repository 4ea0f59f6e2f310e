import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { runColony } from '../helpers/cli.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix } from '../helpers/redis.js';

test('the demo writes under a prefix of its own and leaves no key behind', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'colony-demo-'));
  const userPrefix = uniquePrefix('demo-user');
  const redis = new Redis(TEST_REDIS_URL);
  t.after(async () => {
    redis.disconnect();
    await deletePrefix(TEST_REDIS_URL, userPrefix);
    await rm(out, { recursive: true, force: true });
  });

  const run = await runColony(['demo', '--out', out], {
    REDIS_URL: TEST_REDIS_URL,
    COLONY_PREFIX: userPrefix,
  });

  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /verification: all \d+ files at file:\/\/.* are byte-identical/);
  const prefix = /Redis keys under (colony-demo-[0-9a-f]+), deleted at the end/.exec(
    run.stderr,
  )?.[1];
  assert.ok(prefix, run.stderr);
  assert.deepEqual(await keysUnder(redis, prefix), [], 'the demo cleaned up');
  assert.deepEqual(await keysUnder(redis, userPrefix), [], "nothing under the user's prefix");
});

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}
