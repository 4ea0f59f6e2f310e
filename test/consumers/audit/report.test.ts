import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { startSampleOrigin, type SampleOrigin } from '../../../cli/sample-origin.js';
import { requestClass } from '../../../consumers/requests/ingest.js';
import { runReportConsumer, type TransferReport } from '../../../consumers/audit/report.js';
import { startStages, type StageHost } from '../../../consumers/stages.js';
import { isFinished } from '../../../schemas/class-state.js';
import { silentLogger } from '../../../streams/log.js';
import { connectBlocking } from '../../../streams/redis.js';
import { groupsOf } from '../../../streams/replay.js';
import { HLS_ROOT, expectedFixtures } from '../../helpers/fixtures.js';
import { TEST_REDIS_URL, deletePrefix, testConfig, waitFor } from '../../helpers/redis.js';

let origin: SampleOrigin;
let host: StageHost;
let reader: Redis;
let out: string;
let prefix: string;
const fixtures = expectedFixtures();

async function transfer(classId: string, manifest: string): Promise<void> {
  const { classes, publisher, config } = host.deps;
  await requestClass(classes, publisher, {
    classId,
    manifestUrl: `${origin.url}/hls/${manifest}`,
    dest: config.dest!,
  });
  await waitFor(
    async () => {
      const s = await classes.get(classId);
      return s && isFinished(s) ? s : undefined;
    },
    30_000,
    `${classId} finished`,
  );
}

before(async () => {
  origin = await startSampleOrigin({ root: HLS_ROOT });
  out = await mkdtemp(join(tmpdir(), 'colony-report-'));
  const config = testConfig({ dest: `file://${out}`, batchSize: 4 });
  prefix = config.prefix;
  host = await startStages({
    config,
    stages: ['crawler', 'transfer', 'aggregator'],
    logger: silentLogger,
  });
  reader = await connectBlocking(TEST_REDIS_URL, 'colony-test-report');
  await transfer('multi', fixtures['ts-multivariant']!.manifest);
  await transfer('fmp4', fixtures['fmp4-audio-subs']!.manifest);
  await transfer('broken', 'does-not-exist/master.m3u8');
});

after(async () => {
  reader.disconnect();
  await host.stop();
  await origin.close();
  await deletePrefix(TEST_REDIS_URL, prefix);
  await rm(out, { recursive: true, force: true });
});

describe('reporting consumer', () => {
  test("a group attached after the transfer sees the whole history: counts equal the transfer's", async () => {
    // Act
    const run = await runReportConsumer({
      redis: host.redis,
      reader,
      keys: host.deps.keys,
      group: 'report-after',
      consumer: 'r1',
    });

    // Assess
    assert.equal(run.created, true);
    assert.deepEqual(run.invalid, []);
    const classes = run.report.classes();
    assert.deepEqual(classes.map((c) => c.classId).sort(), ['broken', 'fmp4', 'multi']);
    for (const c of classes) {
      const state = (await host.deps.classes.get(c.classId))!;
      assert.equal(c.status, state.status, c.classId);
      assert.equal(c.files, state.total, `${c.classId} files`);
      assert.deepEqual(
        [c.copied, c.skipped, c.failed, c.bytes, c.retries],
        [state.copied, state.skipped, state.failed, state.bytes, state.retries],
        c.classId,
      );
      assert.ok(c.durationMs >= 0);
    }
    const multi = classes.find((c) => c.classId === 'multi')!;
    assert.equal(multi.files, fixtures['ts-multivariant']!.files.length);
    const overall = run.report.overall(classes);
    assert.equal(overall.classes, 3);
    assert.equal(overall.transferred, 2);
    assert.equal(overall.failedClasses, 1);
    assert.equal(
      overall.copied,
      classes.reduce((a, c) => a + c.copied, 0),
    );
    assert.ok(overall.bytesPerSecond > 0);
  });

  test("it is just another group: it acks what it read and leaves the pipeline's groups alone", async () => {
    const keys = host.deps.keys;
    const before = await groupsOf(host.redis, keys.stream('results'));
    const aggregatorBefore = before.find((g) => g.name === 'aggregator')!;

    await runReportConsumer({
      redis: host.redis,
      reader,
      keys,
      group: 'report-acks',
      consumer: 'r2',
    });

    const after = await groupsOf(host.redis, keys.stream('results'));
    const mine = after.find((g) => g.name === 'report-acks')!;
    assert.equal(Number(mine.pending), 0);
    assert.equal(mine['last-delivered-id'], aggregatorBefore['last-delivered-id']);
    assert.deepEqual(
      after.find((g) => g.name === 'aggregator'),
      aggregatorBefore,
    );
  });

  test('with follow, live events update the same report until stopped', async () => {
    // Prepare
    const stop = new AbortController();
    let caughtUp!: () => void;
    const ready = new Promise<void>((r) => (caughtUp = r));
    let latest: TransferReport | undefined;
    const running = runReportConsumer({
      redis: host.redis,
      reader,
      keys: host.deps.keys,
      group: 'report-live',
      consumer: 'r3',
      follow: true,
      signal: stop.signal,
      blockMs: 100,
      onCaughtUp: () => caughtUp(),
      onUpdate: (r) => (latest = r),
    });
    await ready;

    // Act: another class is transferred while the report follows.
    await transfer('live', fixtures['media-only']!.manifest);
    const live = await waitFor(
      async () => latest?.classes().find((c) => c.classId === 'live' && c.status === 'transferred'),
      10_000,
      'live class in the report',
    );
    stop.abort();
    const run = await running;

    // Assess
    assert.equal(live.copied, fixtures['media-only']!.files.length);
    assert.equal(run.report.classes().length, 4);
  });
});
