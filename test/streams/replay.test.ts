import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SCHEMA_VERSION, type FileJobs } from '../../schemas/events.js';
import { UsageError } from '../../schemas/errors.js';
import { Keys } from '../../streams/keys.js';
import { Publisher } from '../../streams/publisher.js';
import type { ColonyRedis } from '../../streams/redis.js';
import { attachGroup, readGroup, readHistory } from '../../streams/replay.js';
import { compareIds, nextId, parsePosition, previousId } from '../../streams/stream-ids.js';
import { TEST_REDIS_URL, deletePrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

let redis: ColonyRedis;
const prefixes: string[] = [];

before(async () => {
  redis = await testRedis();
});

after(async () => {
  for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
  redis.disconnect();
});

function keysFor(shards = 1): Keys {
  const prefix = uniquePrefix('replay');
  prefixes.push(prefix);
  return new Keys(prefix, shards);
}

function jobs(classId: string, ordinal: number): FileJobs {
  return {
    type: 'file-jobs',
    v: SCHEMA_VERSION,
    classId,
    run: 1,
    files: [
      {
        ordinal,
        url: `http://127.0.0.1/${classId}/${ordinal}.ts`,
        key: `${classId}/${ordinal}.ts`,
      },
    ],
  };
}

describe('stream positions', () => {
  test('IDs, unix milliseconds and ISO times; both ends inclusive', () => {
    assert.equal(parsePosition('1700000000000-7', 'start'), '1700000000000-7');
    assert.equal(parsePosition('1700000000000', 'start'), '1700000000000-0');
    assert.equal(parsePosition('1700000000000', 'end'), '1700000000000-18446744073709551615');
    assert.equal(parsePosition('2023-11-14T22:13:20Z', 'start'), '1700000000000-0');
    assert.equal(parsePosition('0', 'start'), '0-0');
    for (const bad of ['yesterday', '-5', '12-ab', '']) {
      assert.throws(
        () => parsePosition(bad, 'start'),
        (err: unknown) => err instanceof UsageError && /--from/.test(err.message),
        bad,
      );
    }
  });

  test('ordering, successor and predecessor, across the sequence limit', () => {
    assert.ok(compareIds('9-0', '10-0') < 0);
    assert.ok(compareIds('10-2', '10-10') < 0);
    assert.equal(compareIds('5-5', '5-5'), 0);
    assert.equal(nextId('5-18446744073709551615'), '6-0');
    assert.equal(previousId('6-0'), '5-18446744073709551615');
    assert.equal(previousId('6-3'), '6-2');
    assert.equal(previousId('0-0'), '0-0');
  });
});

describe('readHistory', () => {
  test('reads every shard in pages, in ID order per shard, invalid entries with their error', async () => {
    // Prepare: 2 shards; 40 entries spread by class; one broken entry.
    const keys = keysFor(2);
    const events = Array.from({ length: 40 }, (_, i) => jobs(`class-${i % 5}`, i));
    await new Publisher(redis, keys).publish('jobs', events);
    const badId = await redis.xadd(
      keys.stream('jobs', 1),
      '*',
      'type',
      'file-jobs',
      'v',
      '1',
      'data',
      '{"classId":5}',
    );

    // Act
    const seen = [];
    for await (const e of readHistory({ redis, keys, stream: 'jobs', pageSize: 7 })) seen.push(e);

    // Assess
    assert.equal(seen.length, 41);
    assert.deepEqual(new Set(seen.map((e) => e.shard)), new Set([0, 1]));
    for (const shard of [0, 1]) {
      const ids: string[] = seen.filter((e) => e.shard === shard).map((e) => e.id);
      assert.deepEqual(ids, [...ids].sort(compareIds));
    }
    const bad = seen.find((e) => e.id === badId)!;
    assert.match(bad.error ?? '', /invalid jobs entry/);
    assert.equal(bad.fields.data, '{"classId":5}');
    const ordinals = seen
      .flatMap((e) => e.event?.files.map((f) => f.ordinal) ?? [])
      .sort((a, b) => a - b);
    assert.deepEqual(
      ordinals,
      Array.from({ length: 40 }, (_, i) => i),
    );
  });
});

describe('attachGroup', () => {
  test('a new group at --from delivers that entry and everything after it', async () => {
    // Prepare
    const keys = keysFor();
    const ids = await new Publisher(redis, keys).publish(
      'jobs',
      Array.from({ length: 6 }, (_, i) => jobs('c', i)),
    );

    // Act
    const created = await attachGroup(redis, keys, 'jobs', 'audit', ids[2]);
    const read = await readGroup(redis, {
      group: 'audit',
      consumer: 'a',
      keys: keys.allShards('jobs'),
      count: 100,
    });

    // Assess
    assert.equal(created.length, 1);
    assert.deepEqual(
      read.map((e) => e.id),
      ids.slice(2),
    );
  });

  test('an existing group is refused, and nothing is created on any shard', async () => {
    const keys = keysFor(3);
    await redis.xgroup('CREATE', keys.stream('results', 2), 'taken', '0', 'MKSTREAM');
    await assert.rejects(attachGroup(redis, keys, 'results', 'taken'), /already exists/);
    assert.equal(await redis.exists(keys.stream('results', 0)), 0);
  });
});
