import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileJobs } from '../../schemas/events.js';
import type { Delivery } from '../../streams/group-runner.js';
import { autoclaim } from '../../streams/reclaim.js';
import { waitFor } from '../helpers/redis.js';
import {
  GROUP,
  deadLetters,
  entryFields,
  gate,
  harness,
  job,
  jobs,
  ordinalsOf,
  pendingCount,
  pendingEntries,
  sleep,
} from './runner-harness.js';

const TIMEOUT = { timeout: 20_000 };

test(
  'acks every entry once it is handled: each handled once, nothing pending',
  TIMEOUT,
  async (t) => {
    // Prepare: 25 entries of 3 files each.
    const h = await harness(t);
    const seen: Delivery<FileJobs>[] = [];
    await h.startRunner({ batchSize: 7, handle: async (batch) => void seen.push(...batch) });
    const entries = Array.from({ length: 25 }, (_, i) => jobs([3 * i, 3 * i + 1, 3 * i + 2]));

    // Act
    const ids = await h.publisher.publish('jobs', entries);

    // Assess
    await waitFor(async () => (seen.length >= 25 ? true : undefined), 5000, '25 deliveries');
    await waitFor(
      async () => ((await pendingCount(h.redis, h.key)) === 0 ? true : undefined),
      5000,
      'no pending',
    );
    await sleep(300);
    assert.deepEqual(seen.map((d) => d.id).sort(), [...ids].sort());
    assert.deepEqual(
      ordinalsOf(seen).sort((a, b) => a - b),
      Array.from({ length: 75 }, (_, i) => i),
    );
    assert.ok(seen.every((d) => d.deliveries === 1));
    assert.deepEqual(seen[0]!.event, entries[seen[0]!.event.files[0]!.ordinal / 3]);
  },
);

test('claims at once what a dead consumer read and never acked', TIMEOUT, async (t) => {
  // Prepare: "ghost" reads three entries and dies (it never had a liveness key).
  const h = await harness(t);
  await h.redis.xgroup('CREATE', h.key, GROUP, '0', 'MKSTREAM');
  const ids = await h.publisher.publish('jobs', [job(0), job(1), job(2)]);
  await h.redis.xreadgroup('GROUP', GROUP, 'ghost', 'COUNT', 10, 'STREAMS', h.key, '>');
  assert.equal(await pendingCount(h.redis, h.key), 3);
  const seen: Delivery<FileJobs>[] = [];

  // Act: the visibility timeout is long, so only the dead-consumer path can take them.
  await h.startRunner({
    visibilityTimeoutMs: 60_000,
    livenessTtlMs: 300,
    handle: async (b) => void seen.push(...b),
  });

  // Assess
  await waitFor(async () => (seen.length >= 3 ? true : undefined), 5000, 'reclaimed deliveries');
  await waitFor(
    async () => ((await pendingCount(h.redis, h.key)) === 0 ? true : undefined),
    5000,
    'no pending',
  );
  assert.deepEqual(seen.map((d) => d.id).sort(), [...ids].sort());
  assert.deepEqual(
    seen.map((d) => d.deliveries),
    [2, 2, 2],
  );
  await waitFor(
    async () => {
      const rows = (await h.redis.call('XINFO', 'CONSUMERS', h.key, GROUP)) as unknown[][];
      return rows.some((r) => r[1] === 'ghost') ? undefined : true;
    },
    5000,
    'the emptied dead consumer to be removed',
  );
});

test(
  'claims from a live consumer only after it held an entry past the visibility timeout',
  TIMEOUT,
  async (t) => {
    // Prepare: "slowpoke" is alive (its liveness key is set) but holds an entry and never acks.
    const h = await harness(t);
    await h.redis.set(h.keys.alive('slowpoke'), '1', 'PX', 60_000);
    await h.redis.xgroup('CREATE', h.key, GROUP, '0', 'MKSTREAM');
    const [id] = await h.publisher.publish('jobs', [job(0)]);
    const readAt = Date.now();
    await h.redis.xreadgroup('GROUP', GROUP, 'slowpoke', 'COUNT', 10, 'STREAMS', h.key, '>');
    const seen: { d: Delivery<FileJobs>; at: number }[] = [];

    // Act
    await h.startRunner({
      visibilityTimeoutMs: 1000,
      livenessTtlMs: 300,
      handle: async (b) => void seen.push(...b.map((d) => ({ d, at: Date.now() }))),
    });

    // Assess
    await sleep(500);
    assert.equal(seen.length, 0, 'a live consumer keeps its entry within the visibility timeout');
    await waitFor(async () => (seen.length >= 1 ? true : undefined), 5000, 'the stalled entry');
    await waitFor(
      async () => ((await pendingCount(h.redis, h.key)) === 0 ? true : undefined),
      5000,
      'no pending',
    );
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.d.id, id);
    assert.equal(seen[0]!.d.deliveries, 2);
    // Redis and Node read the same clock, each to the millisecond: allow that rounding.
    assert.ok(seen[0]!.at - readAt >= 990, `claimed after ${seen[0]!.at - readAt} ms`);
    assert.equal(await h.redis.exists(h.keys.alive('slowpoke')), 1);
  },
);

test(
  'dead-letters an entry past max deliveries, with its history and original fields',
  TIMEOUT,
  async (t) => {
    // Prepare
    const h = await harness(t);
    const traceparent = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const [id] = await h.publisher.publish('jobs', [{ ...job(3), traceparent }]);
    const original = await entryFields(h.redis, h.key, id!);
    let attempts = 0;
    const before: { id: string; deliveries: number; reason: string }[] = [];

    // Act
    await h.startRunner({
      visibilityTimeoutMs: 300,
      maxDeliveries: 2,
      handle: async () => {
        attempts++;
        throw new Error('copy exploded');
      },
      beforeDeadLetter: async (d, reason) =>
        void before.push({ id: d.id, deliveries: d.deliveries, reason }),
    });

    // Assess
    const deadKey = h.keys.deadFor(h.key);
    const [letter] = await waitFor(
      async () => {
        const letters = await deadLetters(h.redis, deadKey);
        return letters.length ? letters : undefined;
      },
      8000,
      'a dead letter',
    );
    await sleep(500);
    assert.equal((await deadLetters(h.redis, deadKey)).length, 1);
    assert.equal(attempts, 2);
    assert.equal(letter!.stream, 'jobs');
    assert.equal(letter!.group, GROUP);
    assert.equal(letter!.entryId, id);
    assert.equal(letter!.deliveries, 3);
    assert.match(letter!.reason, /delivered 3 times \(max 2\)/);
    assert.deepEqual(letter!.fields, original);
    assert.equal(letter!.traceparent, traceparent);
    assert.equal(await pendingCount(h.redis, h.key), 0);
    assert.deepEqual(before, [{ id, deliveries: 3, reason: letter!.reason }]);
  },
);

test(
  'dead-letters invalid entries with the reason and still handles the valid ones after them',
  TIMEOUT,
  async (t) => {
    // Prepare
    const h = await harness(t);
    await h.redis.xgroup('CREATE', h.key, GROUP, '0', 'MKSTREAM');
    const garbage = await h.redis.xadd(h.key, '*', 'foo', 'bar');
    const [first] = await h.publisher.publish('jobs', [job(0)]);
    const badSchema = await h.redis.xadd(
      h.key,
      '*',
      'type',
      'file-jobs',
      'v',
      '1',
      'traceparent',
      '',
      'data',
      '{"classId":"c1","run":1,"files":[{"ordinal":-1,"url":"https://o.test/a.ts","key":"a.ts"}]}',
    );
    const badJson = await h.redis.xadd(
      h.key,
      '*',
      'type',
      'file-jobs',
      'v',
      '1',
      'data',
      '{not json',
    );
    // An entry of the old one-file-per-entry format, and a batch with no files.
    const oldFormat = await h.redis.xadd(
      h.key,
      '*',
      'type',
      'file-job',
      'v',
      '1',
      'data',
      '{"classId":"c1","ordinal":0,"url":"https://o.test/a.ts","key":"a.ts"}',
    );
    const emptyBatch = await h.redis.xadd(
      h.key,
      '*',
      'type',
      'file-jobs',
      'v',
      '1',
      'data',
      '{"classId":"c1","run":1,"files":[]}',
    );
    const [second] = await h.publisher.publish('jobs', [job(1)]);
    const seen: Delivery<FileJobs>[] = [];

    // Act
    await h.startRunner({ batchSize: 2, handle: async (b) => void seen.push(...b) });

    // Assess
    await waitFor(async () => (seen.length >= 2 ? true : undefined), 5000, 'the valid entries');
    await waitFor(
      async () => ((await pendingCount(h.redis, h.key)) === 0 ? true : undefined),
      5000,
      'no pending',
    );
    assert.deepEqual(
      seen.map((d) => d.id),
      [first, second],
    );
    const letters = await deadLetters(h.redis, h.keys.deadFor(h.key));
    const byId = new Map(letters.map((l) => [l.entryId, l]));
    assert.equal(letters.length, 5);
    assert.match(byId.get(garbage!)!.reason, /unsupported schema version/);
    assert.deepEqual(byId.get(garbage!)!.fields, { foo: 'bar' });
    assert.match(byId.get(badSchema!)!.reason, /invalid jobs entry: files\.0\.ordinal/);
    assert.match(byId.get(badJson!)!.reason, /not JSON/);
    assert.match(byId.get(oldFormat!)!.reason, /invalid jobs entry: .*type/);
    assert.match(byId.get(emptyBatch!)!.reason, /invalid jobs entry: files/);
    assert.ok(letters.every((l) => l.deliveries === 1));
  },
);

test('a release verdict hands the entry back for a later delivery', TIMEOUT, async (t) => {
  // Prepare
  const h = await harness(t);
  const [keep, again] = await h.publisher.publish('jobs', [job(0), job(1)]);
  const seen: Delivery<FileJobs>[] = [];

  // Act
  await h.startRunner({
    visibilityTimeoutMs: 300,
    handle: async (batch) => {
      seen.push(...batch);
      return {
        release: batch.filter((d) => d.id === again && d.deliveries === 1).map((d) => d.id),
      };
    },
  });

  // Assess
  await waitFor(async () => (seen.length >= 3 ? true : undefined), 5000, 'the redelivery');
  await waitFor(
    async () => ((await pendingCount(h.redis, h.key)) === 0 ? true : undefined),
    5000,
    'no pending',
  );
  await sleep(500);
  assert.deepEqual(
    seen.map((d) => [d.id, d.deliveries]),
    [
      [keep, 1],
      [again, 1],
      [again, 2],
    ],
  );
});

test(
  'a dead verdict dead-letters the entry with the given reason, and acks the others',
  TIMEOUT,
  async (t) => {
    // Prepare
    const h = await harness(t);
    const [poison, fine] = await h.publisher.publish('jobs', [job(0), job(1)]);
    const seen: string[] = [];

    // Act
    await h.startRunner({
      visibilityTimeoutMs: 300,
      handle: async (batch) => {
        seen.push(...batch.map((d) => d.id));
        return {
          dead: batch
            .filter((d) => d.id === poison)
            .map((d) => ({ id: d.id, reason: 'poison pill' })),
        };
      },
    });

    // Assess
    const deadKey = h.keys.deadFor(h.key);
    const letters = await waitFor(
      async () => {
        const l = await deadLetters(h.redis, deadKey);
        return l.length ? l : undefined;
      },
      5000,
      'the dead letter',
    );
    await waitFor(
      async () => ((await pendingCount(h.redis, h.key)) === 0 ? true : undefined),
      5000,
      'no pending',
    );
    await sleep(500);
    assert.deepEqual(seen, [poison, fine]);
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.entryId, poison);
    assert.equal(letters[0]!.reason, 'poison pill');
    assert.equal(letters[0]!.deliveries, 1);
  },
);

test(
  'stop() lets an in-flight batch finish and ack within the stop timeout',
  TIMEOUT,
  async (t) => {
    // Prepare
    const h = await harness(t);
    let started = false;
    let finished = false;
    const runner = await h.startRunner({
      stopTimeoutMs: 5000,
      handle: async () => {
        started = true;
        await sleep(400);
        finished = true;
      },
    });
    await h.publisher.publish('jobs', [job(0)]);
    await waitFor(async () => (started ? true : undefined), 5000, 'the handler to start');

    // Act
    await runner.stop();

    // Assess
    assert.equal(finished, true);
    assert.equal(await pendingCount(h.redis, h.key), 0);
    assert.equal(runner.idle, true);
  },
);

test(
  'stop() returns in bounded time past the stop timeout and hands the entry back',
  TIMEOUT,
  async (t) => {
    // Prepare
    const h = await harness(t);
    const hold = gate();
    t.after(() => hold.open());
    let started = false;
    const runner = await h.startRunner({
      visibilityTimeoutMs: 1000,
      stopTimeoutMs: 200,
      handle: async () => {
        started = true;
        await hold.promise;
      },
    });
    const [id] = await h.publisher.publish('jobs', [job(0)]);
    await waitFor(async () => (started ? true : undefined), 5000, 'the handler to start');

    // Act
    const stopAt = Date.now();
    await runner.stop();
    const took = Date.now() - stopAt;

    // Assess
    assert.ok(took < 1500, `stop took ${took} ms`);
    const [entry] = await pendingEntries(h.redis, h.key);
    assert.equal(entry?.id, id);
    assert.ok(entry!.idleMs >= 1000, `idle ${entry!.idleMs} ms`);
    const other = { redis: h.redis, key: h.key, group: GROUP, consumer: 'other' };
    const { entries } = await autoclaim(other, 1000, '0-0', 10);
    assert.deepEqual(
      entries.map(([eid]) => eid),
      [id],
    );
    hold.open();
  },
);

test(
  'recreates its group when the stream is deleted, and handles new entries',
  TIMEOUT,
  async (t) => {
    // Prepare
    const h = await harness(t);
    const seen: number[] = [];
    await h.startRunner({
      visibilityTimeoutMs: 300,
      handle: async (b) => void seen.push(...ordinalsOf(b)),
    });
    await h.publisher.publish('jobs', [job(0), job(1)]);
    await waitFor(async () => (seen.length >= 2 ? true : undefined), 5000, 'the first entries');

    // Act
    await h.redis.del(h.key);
    await sleep(200);
    await h.publisher.publish('jobs', [job(2), job(3)]);

    // Assess
    await waitFor(
      async () => (seen.length >= 4 ? true : undefined),
      8000,
      'entries after the stream was deleted',
    );
    await waitFor(
      async () => ((await pendingCount(h.redis, h.key)) === 0 ? true : undefined),
      5000,
      'no pending',
    );
    assert.deepEqual(seen, [0, 1, 2, 3]);
  },
);
