import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { SCHEMA_VERSION, type ClassOutcome, type FileResult } from '../../schemas/events.js';
import { AGGREGATOR_GROUP } from '../../consumers/aggregator.js';
import { startStages, type StageHost } from '../../consumers/stages.js';
import { decodeEntry, fieldsToRecord } from '../../streams/codec.js';
import { silentLogger } from '../../streams/log.js';
import { newTraceparent } from '../../streams/trace.js';
import { TEST_REDIS_URL, deletePrefix, testConfig, waitFor } from '../helpers/redis.js';

const TIMEOUT = { timeout: 20_000 };
const MD5 = '0123456789abcdef0123456789abcdef';

/** An aggregator alone, reading results in small batches; stopped and deleted after the test. */
async function aggregator(t: TestContext): Promise<StageHost> {
  const config = testConfig({ blockMs: 50, visibilityTimeoutMs: 1000 });
  const host = await startStages({
    config,
    stages: ['aggregator'],
    logger: silentLogger,
    livenessTtlMs: 1000,
    aggregatorBatchSize: 5,
  });
  t.after(async () => {
    await host.stop();
    await deletePrefix(TEST_REDIS_URL, config.prefix);
  });
  return host;
}

async function registerClass(host: StageHost, classId: string, total: number): Promise<void> {
  await host.deps.classes.request({
    classId,
    manifestUrl: `https://origin.test/${classId}/master.m3u8`,
    dest: 'file:///tmp/colony-dest',
    eventId: `event-${classId}`,
    traceparent: newTraceparent(),
  });
  assert.equal(await host.deps.classes.registerCrawl(classId, total), total);
}

function copied(classId: string, ordinal: number, bytes: number): FileResult {
  return {
    type: 'file-result',
    v: SCHEMA_VERSION,
    classId,
    ordinal,
    key: `${classId}/seg${ordinal}.ts`,
    attempts: 1,
    status: 'copied',
    bytes,
    md5: MD5,
  };
}

function skipped(classId: string, ordinal: number, bytes: number): FileResult {
  return {
    type: 'file-result',
    v: SCHEMA_VERSION,
    classId,
    ordinal,
    key: `${classId}/seg${ordinal}.ts`,
    attempts: 1,
    status: 'skipped',
    bytes,
  };
}

function failed(classId: string, ordinal: number, reason: string): FileResult {
  return {
    type: 'file-result',
    v: SCHEMA_VERSION,
    classId,
    ordinal,
    key: `${classId}/seg${ordinal}.ts`,
    attempts: 3,
    status: 'failed',
    reason,
    code: 'E_SOURCE_PERMANENT',
  };
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

/** Waits until the aggregator group has read and acked every entry of the results stream. */
async function drained(host: StageHost): Promise<void> {
  const key = host.deps.keys.stream('results');
  await waitFor(
    async () => {
      const [last] = await host.redis.xrevrange(key, '+', '-', 'COUNT', 1);
      const groups = (await host.redis.call('XINFO', 'GROUPS', key)) as unknown[][];
      const group = groups
        .map((g) => fieldsToRecord(g.map(String)))
        .find((g) => g.name === AGGREGATOR_GROUP);
      return group && last && group['last-delivered-id'] === last[0] && group.pending === '0'
        ? true
        : undefined;
    },
    10_000,
    'the aggregator to drain the results',
  );
}

test('counts every file once under duplicates and publishes one outcome', TIMEOUT, async (t) => {
  // Prepare
  const host = await aggregator(t);
  const total = 24;
  await registerClass(host, 'dup-class', total);
  const unique = Array.from({ length: total }, (_, i) =>
    i % 4 === 0 ? skipped('dup-class', i, 1000 + i) : copied('dup-class', i, 1000 + i),
  );
  const withDuplicates = shuffle(
    unique.flatMap((r, i) => Array.from({ length: 2 + (i % 2) }, () => r)),
    42,
  );

  // Act: several publishes, so the duplicates land in different batches.
  for (let i = 0; i < withDuplicates.length; i += 7) {
    await host.deps.publisher.publish('results', withDuplicates.slice(i, i + 7));
  }

  // Assess
  await waitFor(
    async () => ((await outcomes(host)).length ? true : undefined),
    10_000,
    'an outcome',
  );
  await drained(host);
  const state = await host.deps.classes.get('dup-class');
  const expectedBytes = unique.reduce((sum, r) => sum + (r.status === 'failed' ? 0 : r.bytes), 0);
  assert.equal(state?.status, 'transferred');
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
      copied('retry-class', 0, 10),
      copied('retry-class', 1, 20),
      failed('retry-class', 2, 'HTTP 503 after 3 attempts'),
    ]);
    await waitFor(
      async () => ((await outcomes(host)).length >= 1 ? true : undefined),
      10_000,
      'the first outcome',
    );
    const [first] = await outcomes(host);
    assert.equal(first!.type, 'class-failed');
    assert.equal(first!.revision, 1);
    assert.equal(first!.failed, 1);
    assert.deepEqual(first!.failures, [
      { path: 'retry-class/seg2.ts', reason: 'HTTP 503 after 3 attempts' },
    ]);

    // Act: the dead letter is retried and the copy succeeds, delivered twice.
    await host.deps.publisher.publish('results', [
      copied('retry-class', 2, 30),
      copied('retry-class', 2, 30),
    ]);

    // Assess
    await waitFor(
      async () => ((await outcomes(host)).length >= 2 ? true : undefined),
      10_000,
      'the second outcome',
    );
    await drained(host);
    const all = await outcomes(host);
    assert.equal(all.length, 2);
    const second = all[1]!;
    assert.equal(second.type, 'class-transferred');
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
    copied('late-fail', 0, 5),
    skipped('late-fail', 1, 7),
  ]);
  await waitFor(
    async () => ((await outcomes(host)).length ? true : undefined),
    10_000,
    'the outcome',
  );
  await host.deps.publisher.publish('results', [failed('late-fail', 0, 'stale retry')]);

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
      copied('nobody', 0, 1),
      copied('known', 0, 9),
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
