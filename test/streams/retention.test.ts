import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileDestination } from '../../copy/destinations/file-destination.js';
import { SCHEMA_VERSION, type ClassOutcome } from '../../schemas/events.js';
import { StreamArchive } from '../../streams/archive.js';
import { Keys } from '../../streams/keys.js';
import { Publisher } from '../../streams/publisher.js';
import type { ColonyRedis } from '../../streams/redis.js';
import { readHistory } from '../../streams/replay.js';
import { trimShard, trimStreams } from '../../streams/retention.js';
import { TEST_REDIS_URL, deletePrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

let redis: ColonyRedis;
const prefixes: string[] = [];
const dirs: string[] = [];

before(async () => {
  redis = await testRedis();
});

after(async () => {
  for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  redis.disconnect();
});

function outcome(i: number): ClassOutcome {
  return {
    type: 'class-transferred',
    v: SCHEMA_VERSION,
    classId: `c-${i}`,
    manifestUrl: `http://127.0.0.1/c-${i}/master.m3u8`,
    dest: 'file:///tmp/x',
    files: 1,
    copied: 1,
    skipped: 0,
    failed: 0,
    bytes: 10,
    failures: [],
    retries: 0,
    startedAt: 1,
    finishedAt: 2,
    durationMs: 1,
    bytesPerSecond: 10,
    run: 1,
    revision: 1,
  };
}

/** A fresh prefix with `n` entries on `outcomes`; returns their IDs. */
async function seeded(n: number): Promise<{ keys: Keys; key: string; ids: string[] }> {
  const prefix = uniquePrefix('retention');
  prefixes.push(prefix);
  const keys = new Keys(prefix);
  const ids = await new Publisher(redis, keys).publish(
    'outcomes',
    Array.from({ length: n }, (_, i) => outcome(i)),
  );
  return { keys, key: keys.stream('outcomes'), ids };
}

/** Reads `count` entries as consumer `c` of `group` and acks the first `ack` of them. */
async function consume(key: string, group: string, count: number, ack: number): Promise<string[]> {
  const reply = (await redis.xreadgroup(
    'GROUP',
    group,
    'c',
    'COUNT',
    count,
    'STREAMS',
    key,
    '>',
  )) as [string, [string, string[]][]][];
  const ids = reply[0]![1].map(([id]) => id);
  if (ack) await redis.xack(key, group, ...ids.slice(0, ack));
  return ids;
}

describe('retention', () => {
  test('trims only what every group acknowledged: a pending entry and a lagging group keep theirs', async () => {
    // Prepare: group fast read and acked all 10; group slow read 6 and acked 3 (3 pending).
    const { keys, key, ids } = await seeded(10);
    await redis.xgroup('CREATE', key, 'fast', '0');
    await redis.xgroup('CREATE', key, 'slow', '0');
    await consume(key, 'fast', 10, 10);
    await consume(key, 'slow', 6, 3);

    // Act
    const result = await trimShard({ redis, keys }, 'outcomes', 0);

    // Assess: the oldest pending entry (the 4th) is the safe minimum.
    assert.equal(result.safeMinId, ids[3]);
    assert.equal(result.heldBy, 'slow');
    assert.equal(result.trimmed, 3);
    const left = (await redis.xrange(key, '-', '+')).map(([id]) => id);
    assert.deepEqual(left, ids.slice(3));
    const pending = (await redis.xpending(key, 'slow', '-', '+', 10)) as [string][];
    for (const [id] of pending) assert.ok(left.includes(id), `pending ${id} was trimmed`);
  });

  test('a group created at 0 that never read blocks every trim; a stream with no group is never trimmed', async () => {
    // Prepare
    const { keys, key } = await seeded(5);
    const ungrouped = await trimShard({ redis, keys }, 'outcomes', 0);
    await redis.xgroup('CREATE', key, 'done', '0');
    await consume(key, 'done', 5, 5);
    await redis.xgroup('CREATE', key, 'lagging', '0');

    // Act
    const result = await trimShard({ redis, keys }, 'outcomes', 0);

    // Assess
    assert.equal(ungrouped.trimmed, 0);
    assert.match(ungrouped.note ?? '', /no consumer group/);
    assert.equal(result.trimmed, 0);
    assert.equal(result.heldBy, 'lagging');
    assert.equal(await redis.xlen(key), 5);
  });

  test('a dry run trims nothing; once every group acked everything, the whole stream goes', async () => {
    const { keys, key } = await seeded(250);
    await redis.xgroup('CREATE', key, 'g', '0');
    await consume(key, 'g', 250, 250);

    const dry = await trimShard({ redis, keys, dryRun: true }, 'outcomes', 0);
    assert.equal(dry.trimmed, 250);
    assert.equal(await redis.xlen(key), 250);

    const [real] = await trimStreams({ redis, keys }, ['outcomes']);
    assert.equal(real!.trimmed, 250);
    assert.equal(await redis.xlen(key), 0);
    assert.ok(
      real!.memoryAfter < real!.memoryBefore,
      `memory ${real!.memoryBefore} -> ${real!.memoryAfter}`,
    );
  });

  test('--archive writes the trimmed entries first, and replay through the archive still covers them', async () => {
    // Prepare
    const { keys, key, ids } = await seeded(30);
    await redis.xgroup('CREATE', key, 'g', '0');
    await consume(key, 'g', 20, 20);
    const root = await mkdtemp(join(tmpdir(), 'colony-archive-'));
    dirs.push(root);
    const archive = new StreamArchive(new FileDestination({ root }), keys.prefix);

    // Act: two trims, in archive objects of at most 8 entries.
    const first = await trimShard({ redis, keys, archive, chunkEntries: 8 }, 'outcomes', 0);
    await consume(key, 'g', 5, 5);
    const second = await trimShard({ redis, keys, archive, chunkEntries: 8 }, 'outcomes', 0);

    // Assess
    assert.equal(first.trimmed, 20);
    assert.equal(first.archived.length, 3);
    assert.equal(second.trimmed, 5);
    assert.equal(await redis.xlen(key), 5);
    const replayed = [];
    for await (const e of readHistory({ redis, keys, stream: 'outcomes', archive }))
      replayed.push(e);
    assert.deepEqual(
      replayed.map((e) => e.id),
      ids,
    );
    assert.deepEqual(
      replayed.map((e) => e.source),
      [...Array(25).fill('archive'), ...Array(5).fill('redis')],
    );
    assert.equal(replayed[7]!.event?.classId, 'c-7');
    const ranged = [];
    for await (const e of readHistory({
      redis,
      keys,
      stream: 'outcomes',
      archive,
      from: ids[6],
      to: ids[26],
    }))
      ranged.push(e.id);
    assert.deepEqual(ranged, ids.slice(6, 27));
  });

  test('an entry archived twice (a trim interrupted after archiving) is replayed once', async () => {
    const { keys, key, ids } = await seeded(6);
    await redis.xgroup('CREATE', key, 'g', '0');
    await consume(key, 'g', 4, 4);
    const root = await mkdtemp(join(tmpdir(), 'colony-archive-'));
    dirs.push(root);
    const archive = new StreamArchive(new FileDestination({ root }), keys.prefix);
    // The archive of an interrupted trim: written, never trimmed.
    const raw = await redis.xrange(key, '-', ids[2]!);
    await archive.write(
      'outcomes',
      0,
      raw.map(([id, flat]) => ({ id, fields: Object.fromEntries(pairs(flat)) })),
    );

    await trimShard({ redis, keys, archive }, 'outcomes', 0);

    const replayed = [];
    for await (const e of readHistory({ redis, keys, stream: 'outcomes', archive }))
      replayed.push(e.id);
    assert.deepEqual(replayed, ids);
  });
});

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
