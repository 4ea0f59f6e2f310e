import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { SCHEMA_VERSION, type FileOutcome, type FileResults } from '../../schemas/events.js';
import { ClassStore, type NewClass } from '../../streams/class-store.js';
import { harness, sleep } from './runner-harness.js';

const TIMEOUT = { timeout: 10_000 };
const MD5 = '0123456789abcdef0123456789abcdef';

async function store(
  t: TestContext,
): Promise<{ classes: ClassStore; h: Awaited<ReturnType<typeof harness>> }> {
  const h = await harness(t, 'cs');
  return { classes: new ClassStore(h.redis, h.keys), h };
}

function newClass(classId: string, version: string, eventId: string): NewClass {
  return {
    classId,
    manifestUrl: `https://origin.test/${classId}/master.m3u8`,
    dest: 'file:///tmp/colony-dest',
    eventId,
    traceparent: '',
    version,
  };
}

function copied(ordinal: number, bytes = 10): FileOutcome {
  return { ordinal, key: `seg${ordinal}.ts`, attempts: 1, status: 'copied', bytes, md5: MD5 };
}

function failed(ordinal: number): FileOutcome {
  return {
    ordinal,
    key: `seg${ordinal}.ts`,
    attempts: 3,
    status: 'failed',
    reason: 'HTTP 404',
    code: 'E_SOURCE_PERMANENT',
  };
}

function results(classId: string, run: number, outcomes: FileOutcome[]): FileResults {
  return { type: 'file-results', v: SCHEMA_VERSION, classId, run, results: outcomes };
}

test(
  'request is idempotent per version and refuses another version while a run is in flight',
  TIMEOUT,
  async (t) => {
    // Prepare
    const { classes, h } = await store(t);

    // Act
    const first = await classes.request(newClass('c', '1', 'e1'));
    const duplicate = await classes.request(newClass('c', '1', 'e1-again'));
    await classes.registerCrawl('c', 2);
    const conflict = await classes.request(newClass('c', '2', 'e2'));

    // Assess
    assert.deepEqual(first, { kind: 'new', status: 'queued', eventId: 'e1', run: 1 });
    assert.deepEqual(duplicate, { kind: 'duplicate', status: 'queued', eventId: 'e1', run: 1 });
    assert.deepEqual(conflict, { kind: 'conflict', status: 'transferring', eventId: 'e1', run: 1 });
    const state = await classes.get('c');
    assert.deepEqual([state?.run, state?.version, state?.eventId, state?.total], [1, '1', 'e1', 2]);
    assert.deepEqual(await classes.list(), ['c']);
    assert.deepEqual(await h.redis.hgetall(h.keys.classEvents('c')), { '1': 'e1' });
  },
);

test(
  'a new version of a finished class starts the next run with its counts reset',
  TIMEOUT,
  async (t) => {
    // Prepare: run 1 ends failed, its outcome published.
    const { classes, h } = await store(t);
    await classes.request(newClass('c', '1', 'e1'));
    await classes.registerCrawl('c', 2);
    await classes.record([results('c', 1, [copied(0, 5), failed(1)])]);
    assert.equal((await classes.get('c'))?.status, 'failed');
    await classes.markPublished('c', await classes.claimOutcome('c'));

    // Act
    const next = await classes.request(newClass('c', '2', 'e2'));
    const oldAgain = await classes.request(newClass('c', '1', 'e1-late'));

    // Assess
    assert.deepEqual(next, { kind: 'new', status: 'queued', eventId: 'e2', run: 2 });
    assert.deepEqual([oldAgain.kind, oldAgain.eventId, oldAgain.run], ['duplicate', 'e1', 2]);
    const state = await classes.get('c');
    assert.deepEqual(
      [state?.run, state?.status, state?.version, state?.eventId],
      [2, 'queued', '2', 'e2'],
    );
    assert.deepEqual(
      [state?.total, state?.done, state?.copied, state?.failed, state?.bytes, state?.finishedAt],
      [0, 0, 0, 0, 0, 0],
    );
    assert.deepEqual(await classes.failures('c'), []);
    assert.equal(await h.redis.exists(h.keys.classDone('c')), 0);
    assert.deepEqual(await classes.list(), ['c']);
  },
);

test(
  'record answers per entry: counted, unknown class, stale run, ordinals outside the class',
  TIMEOUT,
  async (t) => {
    // Prepare: "now" is on run 2; "other" is on run 1.
    const { classes } = await store(t);
    await classes.request(newClass('now', '1', 'n1'));
    await classes.registerCrawl('now', 1);
    await classes.record([results('now', 1, [copied(0)])]);
    await classes.request(newClass('now', '2', 'n2'));
    await classes.registerCrawl('now', 3);
    await classes.request(newClass('other', '1', 'o1'));
    await classes.registerCrawl('other', 2);

    // Act: one pipeline, entries of several classes, a duplicate inside one entry.
    const recorded = await classes.record([
      results('now', 2, [copied(0), copied(0), copied(1), copied(7)]),
      results('nobody', 1, [copied(0)]),
      results('now', 1, [copied(2)]),
      results('other', 1, [failed(0)]),
      results('now', 3, [copied(2)]),
    ]);

    // Assess
    assert.deepEqual(recorded, [
      { classId: 'now', known: true, stale: false, counted: 2, ignored: 1 },
      { classId: 'nobody', known: false, stale: false, counted: 0, ignored: 0 },
      { classId: 'now', known: true, stale: true, counted: 0, ignored: 0 },
      { classId: 'other', known: true, stale: false, counted: 1, ignored: 0 },
      { classId: 'now', known: true, stale: true, counted: 0, ignored: 0 },
    ]);
    const now = await classes.get('now');
    assert.deepEqual([now?.status, now?.done, now?.copied, now?.bytes], ['transferring', 2, 2, 20]);
    assert.deepEqual(await classes.failures('other'), [{ path: 'seg0.ts', reason: 'HTTP 404' }]);
  },
);

test(
  'claimOutcome: one claimant per revision, a lapsed lease is claimed again, nothing once published',
  TIMEOUT,
  async (t) => {
    // Prepare
    const { classes } = await store(t);
    await classes.request(newClass('c', '1', 'e1'));
    await classes.registerCrawl('c', 1);
    const beforeEnd = await classes.claimOutcome('c');
    await classes.record([results('c', 1, [copied(0)])]);

    // Act: five aggregators finish the class at once.
    const claims = await Promise.all(
      Array.from({ length: 5 }, () => classes.claimOutcome('c', 60_000)),
    );
    const whileHeld = await classes.claimOutcome('c', 60_000);
    await sleep(30);
    const afterLapse = await classes.claimOutcome('c', 20);
    await classes.markPublished('c', afterLapse);
    const afterPublished = await classes.claimOutcome('c', 0);

    // Assess
    assert.equal(beforeEnd, 0, 'nothing to publish before the class ends');
    assert.deepEqual([...claims].sort(), [0, 0, 0, 0, 1]);
    assert.equal(whileHeld, 0);
    assert.equal(afterLapse, 1, 'a holder that died before publishing loses its lease');
    assert.equal(afterPublished, 0);
  },
);
