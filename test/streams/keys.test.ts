import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STREAM_NAMES } from '../../schemas/events.js';
import { Keys } from '../../streams/keys.js';

/**
 * The part of a key Redis Cluster hashes: the text between the first '{' and the next '}' when
 * it is non-empty, else the whole key.
 */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

/** CRC16/XMODEM, as Redis Cluster uses, mod 16384. */
function slot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashTag(key))) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

const SHARD_COUNTS = [1, 2, 3, 8, 16, 1024];
const CLASS_IDS = ['c1', 'class-2024-01-01', 'a.b_c-d', 'ns:with:colons', 'x'.repeat(200)];

test('the hash tag helper follows Redis rules', () => {
  // Assess: known slots from the Redis Cluster specification.
  assert.equal(hashTag('{user1000}.following'), 'user1000');
  assert.equal(hashTag('foo{}{bar}'), 'foo{}{bar}');
  assert.equal(hashTag('foo{{bar}}zap'), '{bar');
  assert.equal(hashTag('foo{bar}{zap}'), 'bar');
  assert.equal(slot('123456789'), 0x31c3 % 16384);
  assert.equal(slot('foo'), 12182);
});

test('every stream shard and the dead stream it dead-letters into share a hash tag', () => {
  for (const shards of SHARD_COUNTS) {
    // Prepare
    const keys = new Keys('colony', shards);
    for (const name of STREAM_NAMES) {
      for (const source of keys.allShards(name)) {
        // Act
        const dead = keys.deadFor(source);

        // Assess
        assert.notEqual(hashTag(source), source, `${source} has no hash tag`);
        assert.equal(hashTag(dead), hashTag(source), `${source} -> ${dead} with ${shards} shards`);
        assert.equal(slot(dead), slot(source));
        assert.ok(keys.allShards('dead').includes(dead), `${dead} is not a dead shard`);
      }
    }
  }
});

test('the hot streams spread over slots when sharded', () => {
  for (const shards of SHARD_COUNTS.filter((n) => n > 1)) {
    // Prepare
    const keys = new Keys('colony', shards);

    // Act
    const jobSlots = new Set(keys.allShards('jobs').map(slot));

    // Assess
    assert.equal(keys.allShards('jobs').length, shards);
    assert.ok(jobSlots.size > 1, `${shards} shards all in one slot`);
  }
});

test('the shards of a hot stream spread evenly over masters holding equal slot ranges', () => {
  // Prepare: the slot ranges `redis-cli --cluster create` gives 3, 4 and 6 masters.
  const ranges = (masters: number) =>
    Array.from({ length: masters }, (_, i) => Math.floor((i * 16384) / masters));
  const masterOf = (starts: number[], s: number) => starts.filter((start) => start <= s).length - 1;
  for (const masters of [3, 4, 6]) {
    for (const shards of [masters, masters * 2, masters * 4]) {
      // Act
      const perMaster = new Array<number>(masters).fill(0);
      for (const key of new Keys('colony', shards).allShards('jobs'))
        perMaster[masterOf(ranges(masters), slot(key))]!++;

      // Assess
      assert.deepEqual(
        perMaster,
        new Array<number>(masters).fill(shards / masters),
        `${shards} shards over ${masters} masters: ${perMaster.join('/')}`,
      );
    }
  }
});

test('a single-shard deployment keeps its keys, and shard 0 is always {0}', () => {
  assert.equal(new Keys('colony').stream('jobs'), 'colony:jobs:{0}');
  assert.equal(new Keys('colony', 1).stream('dead'), 'colony:dead:{0}');
  for (const shards of SHARD_COUNTS) {
    const keys = new Keys('colony', shards);
    assert.equal(keys.stream('jobs', 0), 'colony:jobs:{0}');
    assert.equal(keys.stream('classes'), 'colony:classes:{0}');
    for (let n = 0; n < Math.min(shards, 40); n++)
      assert.equal(keys.shardOfKey(keys.stream('results', n)), n);
  }
});

test('every key of one class shares the class hash tag, distinct per class', () => {
  for (const shards of SHARD_COUNTS) {
    const keys = new Keys('colony-x.y_z', shards);
    const tags = new Set<string>();
    for (const classId of CLASS_IDS) {
      // Act
      const scriptKeys = [
        keys.classMeta(classId),
        keys.classDone(classId),
        keys.classFailures(classId),
        keys.classEvents(classId),
      ];

      // Assess
      const classTags = new Set(scriptKeys.map(hashTag));
      assert.deepEqual([...classTags], [`class:${classId}`]);
      tags.add(hashTag(keys.classMeta(classId)));
    }
    assert.equal(tags.size, CLASS_IDS.length);
  }
});

test('each file is routed to a shard within range, the same one every time', () => {
  for (const shards of SHARD_COUNTS) {
    const keys = new Keys('colony', shards);
    for (const classId of CLASS_IDS) {
      for (const ordinal of [0, 1, 2, 99, 12_345]) {
        // Act
        const shard = keys.shardOf('jobs', classId, ordinal);

        // Assess
        assert.ok(
          Number.isInteger(shard) && shard >= 0 && shard < shards,
          `shard ${shard} of ${shards}`,
        );
        assert.equal(keys.shardOf('results', classId, ordinal), shard);
        assert.equal(keys.shardOf('jobs', classId, ordinal), shard);
      }
    }
  }
});
