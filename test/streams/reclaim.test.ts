import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deliveryCounts, release } from '../../streams/reclaim.js';
import { GROUP, harness, job, pendingEntries } from './runner-harness.js';

test(
  'delivery counts are exact for entries far apart in a large pending list',
  { timeout: 10_000 },
  async (t) => {
    // Prepare: "me" holds 40 entries; the first and the last are delivered a second time.
    const h = await harness(t, 'rc');
    await h.redis.xgroup('CREATE', h.key, GROUP, '0', 'MKSTREAM');
    const ids = await h.publisher.publish(
      'jobs',
      Array.from({ length: 40 }, (_, i) => job(i)),
    );
    await h.redis.xreadgroup('GROUP', GROUP, 'me', 'COUNT', 100, 'STREAMS', h.key, '>');
    const [first, last] = [ids[0]!, ids[39]!];
    await h.redis.xclaim(h.key, GROUP, 'me', 0, first, last);
    const target = { redis: h.redis, key: h.key, group: GROUP, consumer: 'me' };

    // Act
    const counts = await deliveryCounts(target, [last, first]);

    // Assess
    assert.equal(counts.get(first), 2);
    assert.equal(counts.get(last), 2);
  },
);

test(
  'release makes entries claimable at once without counting a delivery',
  { timeout: 10_000 },
  async (t) => {
    // Prepare
    const h = await harness(t, 'rc');
    await h.redis.xgroup('CREATE', h.key, GROUP, '0', 'MKSTREAM');
    const [id] = await h.publisher.publish('jobs', [job(0)]);
    await h.redis.xreadgroup('GROUP', GROUP, 'me', 'COUNT', 10, 'STREAMS', h.key, '>');
    const target = { redis: h.redis, key: h.key, group: GROUP, consumer: 'me' };

    // Act
    await release(target, [id!], 5000);

    // Assess
    const [entry] = await pendingEntries(h.redis, h.key);
    assert.equal(entry?.id, id);
    assert.equal(entry!.consumer, 'me');
    assert.equal(entry!.deliveries, 1);
    assert.ok(entry!.idleMs >= 5000, `idle ${entry!.idleMs} ms`);
  },
);

test(
  'deleteIdleConsumer removes a consumer that holds nothing and keeps one that holds entries',
  { timeout: 10_000 },
  async (t) => {
    // Prepare: "holder" keeps an entry pending; "done" read one and acked it.
    const h = await harness(t, 'rc');
    await h.redis.xgroup('CREATE', h.key, GROUP, '0', 'MKSTREAM');
    await h.publisher.publish('jobs', [job(0), job(1)]);
    await h.redis.xreadgroup('GROUP', GROUP, 'holder', 'COUNT', 1, 'STREAMS', h.key, '>');
    const read = (await h.redis.xreadgroup(
      'GROUP',
      GROUP,
      'done',
      'COUNT',
      1,
      'STREAMS',
      h.key,
      '>',
    )) as [string, [string, string[]][]][];
    await h.redis.xack(h.key, GROUP, read[0]![1][0]![0]);
    const names = async () =>
      ((await h.redis.call('XINFO', 'CONSUMERS', h.key, GROUP)) as unknown[][])
        .map((r) => String(r[1]))
        .sort();

    // Act
    const kept = await h.redis.deleteIdleConsumer(h.key, GROUP, 'holder');
    const removed = await h.redis.deleteIdleConsumer(h.key, GROUP, 'done');

    // Assess
    assert.equal(kept, 0);
    assert.equal(removed, 1);
    assert.deepEqual(await names(), ['holder']);
    const [entry] = await pendingEntries(h.redis, h.key);
    assert.equal(entry?.consumer, 'holder');
  },
);
