import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Config } from '../../schemas/config.js';
import {
  SCHEMA_VERSION,
  type ClassOutcome,
  type ClassRequested,
  type FileOutcome,
  type FileResults,
} from '../../schemas/events.js';
import { AGGREGATOR_GROUP } from '../../consumers/aggregator.js';
import { requestClass } from '../../consumers/requests/ingest.js';
import { startStages, type StageHost } from '../../consumers/stages.js';
import { decodeEntry, encodeEntry, fieldsToRecord } from '../../streams/codec.js';
import { silentLogger } from '../../streams/log.js';
import { newTraceparent } from '../../streams/trace.js';
import { TEST_REDIS_URL, deletePrefix, testConfig, waitFor } from '../helpers/redis.js';

const TIMEOUT = { timeout: 20_000 };
const MD5 = '0123456789abcdef0123456789abcdef';

/**
 * `count` aggregator hosts on one prefix, reading results in small batches; stopped and deleted
 * after the test. Each host runs one consumer per results shard.
 */
async function aggregators(
  t: TestContext,
  count: number,
  overrides: Partial<Config> = {},
): Promise<StageHost[]> {
  const config = testConfig({ blockMs: 50, visibilityTimeoutMs: 1000, ...overrides });
  const hosts: StageHost[] = [];
  t.after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await deletePrefix(TEST_REDIS_URL, config.prefix);
  });
  for (let i = 0; i < count; i++) {
    hosts.push(
      await startStages({
        config,
        stages: ['aggregator'],
        logger: silentLogger,
        livenessTtlMs: 1000,
        aggregatorBatchSize: 5,
      }),
    );
  }
  return hosts;
}

async function aggregator(t: TestContext): Promise<StageHost> {
  const [host] = await aggregators(t, 1);
  return host!;
}

/** Requests a class (its first run) and registers its crawl, as the crawler would. */
async function registerClass(
  host: StageHost,
  classId: string,
  total: number,
  version = '1',
): Promise<void> {
  const answer = await host.deps.classes.request({
    classId,
    manifestUrl: `https://origin.test/${classId}/master.m3u8`,
    dest: 'file:///tmp/colony-dest',
    eventId: `event-${classId}-${version}`,
    traceparent: newTraceparent(),
    version,
  });
  assert.equal(answer.kind, 'new');
  assert.equal(answer.run, 1);
  assert.equal(await host.deps.classes.registerCrawl(classId, total), total);
}

function copied(classId: string, ordinal: number, bytes: number): FileOutcome {
  return {
    ordinal,
    key: `${classId}/seg${ordinal}.ts`,
    attempts: 1,
    status: 'copied',
    bytes,
    md5: MD5,
  };
}

function skipped(classId: string, ordinal: number, bytes: number): FileOutcome {
  return { ordinal, key: `${classId}/seg${ordinal}.ts`, attempts: 1, status: 'skipped', bytes };
}

function failed(classId: string, ordinal: number, reason: string): FileOutcome {
  return {
    ordinal,
    key: `${classId}/seg${ordinal}.ts`,
    attempts: 3,
    status: 'failed',
    reason,
    code: 'E_SOURCE_PERMANENT',
  };
}

/** One results entry: file outcomes of one class and run. */
function results(classId: string, outcomes: FileOutcome[], run = 1): FileResults {
  return { type: 'file-results', v: SCHEMA_VERSION, classId, run, results: outcomes };
}

/** Outcomes cut into results entries of `size` files each. */
function entries(
  classId: string,
  outcomes: readonly FileOutcome[],
  size: number,
  run = 1,
): FileResults[] {
  const out: FileResults[] = [];
  for (let i = 0; i < outcomes.length; i += size)
    out.push(results(classId, outcomes.slice(i, i + size), run));
  return out;
}

/** A deterministic shuffle (mulberry32), so a failure can be replayed. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let r = Math.imul(s ^ (s >>> 15), 1 | s);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function outcomes(host: StageHost): Promise<ClassOutcome[]> {
  const rows = await host.redis.xrange(host.deps.keys.stream('outcomes'), '-', '+');
  return rows.map(([, flat]) => decodeEntry('outcomes', fieldsToRecord(flat)));
}

async function outcomeCount(
  host: StageHost,
  n: number,
  what = `${n} outcomes`,
): Promise<ClassOutcome[]> {
  return waitFor(
    async () => {
      const all = await outcomes(host);
      return all.length >= n ? all : undefined;
    },
    10_000,
    what,
  );
}

/** Waits until the aggregator group has read and acked every entry of every results shard. */
async function drained(host: StageHost): Promise<void> {
  for (const key of host.deps.keys.allShards('results')) {
    await waitFor(
      async () => {
        const [last] = await host.redis.xrevrange(key, '+', '-', 'COUNT', 1);
        if (!last) return true;
        const groups = (await host.redis.call('XINFO', 'GROUPS', key)) as unknown[][];
        const group = groups
          .map((g) => fieldsToRecord(g.map(String)))
          .find((g) => g.name === AGGREGATOR_GROUP);
        return group && group['last-delivered-id'] === last[0] && group.pending === '0'
          ? true
          : undefined;
      },
      10_000,
      `the aggregator to drain ${key}`,
    );
  }
}

test('counts every file once under duplicates and publishes one outcome', TIMEOUT, async (t) => {
  // Prepare
  const host = await aggregator(t);
  const total = 24;
  await registerClass(host, 'dup-class', total);
  const unique = Array.from({ length: total }, (_, i) =>
    i % 4 === 0 ? skipped('dup-class', i, 1000 + i) : copied('dup-class', i, 1000 + i),
  );
  // Each file two or three times, shuffled, so duplicates meet in one entry and across entries.
  const withDuplicates = shuffle(
    unique.flatMap((r, i) => Array.from({ length: 2 + (i % 2) }, () => r)),
    42,
  );

  // Act: several publishes of entries of 4 files, so the duplicates land in different batches.
  const all = entries('dup-class', withDuplicates, 4);
  for (let i = 0; i < all.length; i += 3) {
    await host.deps.publisher.publish('results', all.slice(i, i + 3));
  }

  // Assess
  await outcomeCount(host, 1, 'an outcome');
  await drained(host);
  const state = await host.deps.classes.get('dup-class');
  const expectedBytes = unique.reduce((sum, r) => sum + (r.status === 'failed' ? 0 : r.bytes), 0);
  assert.equal(state?.status, 'transferred');
  assert.equal(state.run, 1);
  assert.equal(state.total, total);
  assert.equal(state.done, total);
  assert.equal(state.copied, 18);
  assert.equal(state.skipped, 6);
  assert.equal(state.failed, 0);
  assert.equal(state.bytes, expectedBytes);
  assert.equal(state.revision, 1);
  assert.equal(state.published, 1);
  const published = await outcomes(host);
  assert.equal(published.length, 1);
  assert.equal(published[0]!.type, 'class-transferred');
  assert.equal(published[0]!.classId, 'dup-class');
  assert.deepEqual(
    [published[0]!.files, published[0]!.copied, published[0]!.skipped, published[0]!.failed],
    [total, 18, 6, 0],
  );
  assert.equal(published[0]!.bytes, expectedBytes);
  assert.equal(published[0]!.run, 1);
  assert.equal(published[0]!.revision, 1);
  assert.deepEqual(published[0]!.failures, []);
});

test(
  'a copied result after a failed one moves the file from failed to copied, as revision 2',
  TIMEOUT,
  async (t) => {
    // Prepare: the class ends failed, with one failure named.
    const host = await aggregator(t);
    await registerClass(host, 'retry-class', 3);
    await host.deps.publisher.publish('results', [
      results('retry-class', [
        copied('retry-class', 0, 10),
        copied('retry-class', 1, 20),
        failed('retry-class', 2, 'HTTP 503 after 3 attempts'),
      ]),
    ]);
    const [first] = await outcomeCount(host, 1, 'the first outcome');
    assert.equal(first!.type, 'class-failed');
    assert.equal(first!.run, 1);
    assert.equal(first!.revision, 1);
    assert.equal(first!.failed, 1);
    assert.deepEqual(first!.failures, [
      { path: 'retry-class/seg2.ts', reason: 'HTTP 503 after 3 attempts' },
    ]);

    // Act: the dead letter is retried and the copy succeeds, delivered twice.
    await host.deps.publisher.publish('results', [
      results('retry-class', [copied('retry-class', 2, 30)]),
      results('retry-class', [copied('retry-class', 2, 30)]),
    ]);

    // Assess
    await outcomeCount(host, 2, 'the second outcome');
    await drained(host);
    const all = await outcomes(host);
    assert.equal(all.length, 2);
    const second = all[1]!;
    assert.equal(second.type, 'class-transferred');
    assert.equal(second.run, 1);
    assert.equal(second.revision, 2);
    assert.deepEqual([second.files, second.copied, second.skipped, second.failed], [3, 3, 0, 0]);
    assert.equal(second.bytes, 60);
    assert.deepEqual(second.failures, []);
    const state = await host.deps.classes.get('retry-class');
    assert.equal(state?.status, 'transferred');
    assert.equal(state.done, 3);
    assert.deepEqual(await host.deps.classes.failures('retry-class'), []);
  },
);

test('a failed duplicate after a copy changes nothing', TIMEOUT, async (t) => {
  // Prepare
  const host = await aggregator(t);
  await registerClass(host, 'late-fail', 2);

  // Act
  await host.deps.publisher.publish('results', [
    results('late-fail', [copied('late-fail', 0, 5), skipped('late-fail', 1, 7)]),
  ]);
  await outcomeCount(host, 1, 'the outcome');
  await host.deps.publisher.publish('results', [
    results('late-fail', [failed('late-fail', 0, 'stale retry')]),
  ]);

  // Assess
  await drained(host);
  const state = await host.deps.classes.get('late-fail');
  assert.deepEqual(
    [state?.status, state?.copied, state?.skipped, state?.failed, state?.bytes],
    ['transferred', 1, 1, 0, 12],
  );
  assert.equal((await outcomes(host)).length, 1);
});

test(
  'results for an unknown class go to dead; the known class in the batch is still counted',
  TIMEOUT,
  async (t) => {
    // Prepare
    const host = await aggregator(t);
    await registerClass(host, 'known', 1);
    const resultsKey = host.deps.keys.stream('results');

    // Act
    const [strayId] = await host.deps.publisher.publish('results', [
      results('nobody', [copied('nobody', 0, 1)]),
      results('known', [copied('known', 0, 9)]),
    ]);

    // Assess
    await drained(host);
    const dead = (await host.redis.xrange(host.deps.keys.deadFor(resultsKey), '-', '+')).map(
      ([, flat]) => decodeEntry('dead', fieldsToRecord(flat)),
    );
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.entryId, strayId);
    assert.equal(dead[0]!.stream, 'results');
    assert.equal(dead[0]!.group, AGGREGATOR_GROUP);
    assert.match(dead[0]!.reason, /unknown class nobody/);
    assert.equal(await host.deps.classes.get('nobody'), undefined);
    const state = await host.deps.classes.get('known');
    assert.equal(state?.status, 'transferred');
    assert.equal(state.bytes, 9);
    await waitFor(
      async () => ((await outcomes(host)).length === 1 ? true : undefined),
      5000,
      'the known class outcome',
    );
  },
);

test('results of an earlier run are acked but not counted', TIMEOUT, async (t) => {
  // Prepare: run 1 finishes, then version 2 starts run 2 of the same class.
  const host = await aggregator(t);
  const { classes, publisher } = host.deps;
  await registerClass(host, 'rerun', 2);
  await publisher.publish('results', [
    results('rerun', [copied('rerun', 0, 1), copied('rerun', 1, 2)]),
  ]);
  await outcomeCount(host, 1, 'the run 1 outcome');
  const second = await classes.request({
    classId: 'rerun',
    manifestUrl: 'https://origin.test/rerun/master.m3u8',
    dest: 'file:///tmp/colony-dest',
    eventId: 'event-rerun-2',
    traceparent: newTraceparent(),
    version: '2',
  });
  assert.deepEqual([second.kind, second.run], ['new', 2]);
  assert.equal(await classes.registerCrawl('rerun', 2), 2);

  // Act: late results of run 1 (a slow transfer, a redelivery) arrive during run 2.
  await publisher.publish('results', [
    results('rerun', [copied('rerun', 0, 100), failed('rerun', 1, 'late failure')], 1),
  ]);

  // Assess
  await drained(host);
  const state = await classes.get('rerun');
  assert.deepEqual(
    [state?.run, state?.status, state?.done, state?.copied, state?.failed, state?.bytes],
    [2, 'transferring', 0, 0, 0, 0],
  );
  assert.deepEqual(await classes.failures('rerun'), []);
  assert.equal((await outcomes(host)).length, 1);
  const [recorded] = await classes.record([results('rerun', [copied('rerun', 0, 100)], 1)]);
  assert.deepEqual(recorded, {
    classId: 'rerun',
    known: true,
    stale: true,
    counted: 0,
    ignored: 0,
  });

  // Act: run 2's own results are counted.
  await publisher.publish('results', [
    results('rerun', [copied('rerun', 0, 7), skipped('rerun', 1, 8)], 2),
  ]);

  // Assess
  await drained(host);
  const after = await classes.get('rerun');
  assert.deepEqual(
    [after?.run, after?.status, after?.done, after?.copied, after?.skipped, after?.bytes],
    [2, 'transferred', 2, 1, 1, 15],
  );
});

test('a new run of a finished class publishes its own outcome, with run 2', TIMEOUT, async (t) => {
  // Prepare: run 1 finishes and its outcome is published.
  const host = await aggregator(t);
  const { classes, publisher } = host.deps;
  await registerClass(host, 'again', 1);
  await publisher.publish('results', [results('again', [copied('again', 0, 1)])]);
  await outcomeCount(host, 1, 'the run 1 outcome');
  const second = await classes.request({
    classId: 'again',
    manifestUrl: 'https://origin.test/again/master.m3u8',
    dest: 'file:///tmp/colony-dest',
    eventId: 'event-again-2',
    traceparent: newTraceparent(),
    version: '2',
  });
  assert.deepEqual([second.kind, second.run], ['new', 2]);
  await classes.registerCrawl('again', 1);

  // Act
  await publisher.publish('results', [results('again', [copied('again', 0, 42)], 2)]);

  // Assess
  await drained(host);
  const state = await classes.get('again');
  assert.deepEqual([state?.run, state?.status, state?.bytes], [2, 'transferred', 42]);
  const all = await outcomeCount(host, 2, 'the run 2 outcome');
  assert.equal(all.length, 2);
  assert.equal(all[1]!.run, 2);
  assert.equal(all[1]!.bytes, 42);
  // The revision counts the class's outcomes across runs: run 2's is a new one downstream.
  assert.equal(all[1]!.revision, 2);
  assert.deepEqual([state?.revision, state?.published], [2, 2]);
});

test(
  'two aggregator hosts finishing the same classes publish exactly one outcome per class',
  TIMEOUT,
  async (t) => {
    // Prepare: two hosts on two results shards each: four consumers that may finish a class.
    const hosts = await aggregators(t, 2, { shards: 2 });
    const host = hosts[0]!;
    const classIds = Array.from({ length: 20 }, (_, i) => `race-${i}`);
    const files = 6;
    for (const classId of classIds) await registerClass(host, classId, files);
    // Every file of every class two or three times, in entries of 1 to 3 files, shuffled and
    // spread over both shards (the publisher would keep one class on one shard).
    const all: FileResults[] = [];
    for (const [c, classId] of classIds.entries()) {
      const outcomesOf = Array.from({ length: files }, (_, i) => copied(classId, i, 10 + i));
      const twice = shuffle([...outcomesOf, ...outcomesOf, ...outcomesOf.slice(0, c % files)], c);
      for (let i = 0, size = 1; i < twice.length; i += size, size = (size % 3) + 1) {
        all.push(results(classId, twice.slice(i, i + size)));
      }
    }
    const shards = host.deps.keys.allShards('results');

    // Act
    const pipeline = host.redis.pipeline();
    for (const [i, entry] of shuffle(all, 7).entries()) {
      pipeline.xadd(shards[i % shards.length]!, '*', ...encodeEntry('results', entry));
    }
    await pipeline.exec();

    // Assess
    await outcomeCount(host, classIds.length, 'an outcome for every class');
    await drained(host);
    await new Promise((r) => setTimeout(r, 300));
    const published = await outcomes(host);
    assert.deepEqual(published.map((o) => o.classId).sort(), [...classIds].sort());
    for (const o of published) {
      assert.deepEqual(
        [o.type, o.run, o.revision, o.files, o.copied],
        ['class-transferred', 1, 1, files, files],
      );
    }
    for (const classId of classIds) {
      const state = await host.deps.classes.get(classId);
      assert.deepEqual([state?.done, state?.revision, state?.published], [files, 1, 1]);
    }
  },
);

test(
  'requests: the same version is a duplicate, another version waits for the run in flight, then starts run 2 afresh',
  TIMEOUT,
  async (t) => {
    // Prepare
    const host = await aggregator(t);
    const { classes, publisher, keys } = host.deps;
    const classesKey = keys.stream('classes');
    const request = {
      classId: 'versioned',
      manifestUrl: 'https://origin.test/v/master.m3u8',
      dest: 'file:///tmp/d',
    };
    const requested = async (): Promise<ClassRequested[]> =>
      (await host.redis.xrange(classesKey, '-', '+')).map(([, flat]) =>
        decodeEntry('classes', fieldsToRecord(flat)),
      );
    const first = await requestClass(classes, publisher, { ...request, version: 1 });
    assert.equal(first.state, 'queued');
    await classes.registerCrawl('versioned', 2);

    // Act: the same version again, then a new version while run 1 is in flight.
    const duplicate = await requestClass(classes, publisher, { ...request, version: 1 });
    const conflict = await requestClass(classes, publisher, { ...request, version: 2 });

    // Assess
    assert.deepEqual(duplicate, { classId: 'versioned', eventId: first.eventId, state: 'pending' });
    assert.equal(conflict.state, 'conflict');
    assert.equal(conflict.eventId, first.eventId);
    const queued = await requested();
    assert.equal(queued.length, 1, 'nothing enqueued for a duplicate or a conflict');
    assert.deepEqual([queued[0]!.eventId, queued[0]!.run], [first.eventId, 1]);
    const stillOne = await classes.get('versioned');
    assert.deepEqual([stillOne?.run, stillOne?.version, stillOne?.total], [1, '1', 2]);

    // Act: run 1 ends failed; then version 2 is requested.
    await publisher.publish('results', [
      results('versioned', [copied('versioned', 0, 5), failed('versioned', 1, 'HTTP 404')]),
    ]);
    await outcomeCount(host, 1, 'the run 1 outcome');
    const next = await requestClass(classes, publisher, { ...request, version: 2 });
    const sameAgain = await requestClass(classes, publisher, { ...request, version: 2 });

    // Assess: run 2 starts with its counts and per-file state reset.
    assert.equal(next.state, 'queued');
    assert.notEqual(next.eventId, first.eventId);
    assert.equal(sameAgain.eventId, next.eventId);
    const state = await classes.get('versioned');
    assert.deepEqual(
      [state?.run, state?.status, state?.version, state?.eventId],
      [2, 'queued', '2', next.eventId],
    );
    assert.deepEqual(
      [
        state?.total,
        state?.done,
        state?.copied,
        state?.skipped,
        state?.failed,
        state?.bytes,
        state?.crawled,
      ],
      [0, 0, 0, 0, 0, 0, 0],
    );
    assert.deepEqual(await classes.failures('versioned'), []);
    assert.equal(await host.redis.exists(keys.classDone('versioned')), 0);
    const nowQueued = await requested();
    assert.equal(nowQueued.at(-1)!.run, 2);
    assert.equal(nowQueued.at(-1)!.eventId, next.eventId);
  },
);
