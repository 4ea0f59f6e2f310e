import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startServiceHttp } from '../../cli/http-server.js';
import { startServiceRoutes } from '../../cli/service-routes.js';
import {
  ClassDetail,
  DeadLetterList,
  PipelineStatus,
  type ClassSummary,
} from '../../schemas/dashboard.js';
import { SCHEMA_VERSION } from '../../schemas/events.js';
import { Keys } from '../../streams/keys.js';
import { silentLogger } from '../../streams/log.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/redis.js';
import { openEvents } from './sse-client.js';
import {
  BEARER,
  POLL,
  TOKEN,
  call,
  fakeAssets,
  finished,
  fixturesOrigin,
  host,
  http,
  origin,
  sendClass,
  useService,
} from './service-harness.js';

// What the service tells about classes, the pipeline and dead letters: JSON, events, metrics.
useService();

describe('classes, events and metrics', () => {
  test('a class sent through the webhook is listed, its bitfield has a bit per file, and the events tell its progress and outcome', async () => {
    // Prepare
    const events = await openEvents(`${http.url}/api/events`, BEARER);
    const classId = 'dash-media-only';

    // Act
    await sendClass(classId, `${fixturesOrigin.url}/hls/media-only/index.m3u8`);
    const outcome = await events.next(
      (e) => e.event === 'outcome' && (e.data as { classId: string }).classId === classId,
    );
    const summary = await finished(classId);
    const detail = ClassDetail.parse(
      (await call(`/api/classes/${classId}`, { headers: BEARER })).json(),
    );
    const missing = await call('/api/classes/no-such-class', { headers: BEARER });
    const pipeline = await events.next((e) => e.event === 'pipeline');
    events.close();

    // Assess
    assert.equal(events.events[0]!.event, 'hello');
    assert.deepEqual(outcome.data, { classId, status: 'transferred' });
    const progress = events.events
      .filter((e) => e.event === 'classes')
      .flatMap((e) => (e.data as { classes: ClassSummary[] }).classes)
      .filter((c) => c.classId === classId);
    assert.ok(progress.length >= 1, 'progress events for the class');
    assert.ok(
      PipelineStatus.parse(pipeline.data).streams.some((s) => s.stream === 'jobs'),
      'pipeline events name the streams',
    );
    assert.equal(summary.status, 'transferred');
    assert.equal(summary.title, `Title of ${classId}`);
    assert.equal(summary.done, summary.total);
    assert.ok(summary.total >= 4);
    assert.equal(detail.class.classId, classId);
    const bits = Buffer.from(detail.bits.done, 'hex');
    for (let i = 0; i < summary.total; i++)
      assert.ok(bits[i >> 3]! & (0x80 >> (i & 7)), `bit ${i} set`);
    assert.equal(detail.bits.failed, '');
    assert.deepEqual(detail.failures, []);
    assert.equal(missing.status, 404);
  });

  test('failed files have bits of their own and their reasons', async () => {
    // Act
    await sendClass('dash-broken', `${origin.url}/hls/broken/index.m3u8`);
    const summary = await finished('dash-broken');
    const detail = ClassDetail.parse(
      (await call('/api/classes/dash-broken', { headers: BEARER })).json(),
    );

    // Assess
    assert.equal(summary.status, 'failed');
    assert.equal(summary.failed, 1);
    const failedOrdinals = [...Buffer.from(detail.bits.failed, 'hex')].flatMap((byte, i) =>
      [0, 1, 2, 3, 4, 5, 6, 7].filter((b) => byte & (0x80 >> b)).map((b) => i * 8 + b),
    );
    assert.deepEqual(failedOrdinals, [detail.failures[0]!.ordinal]);
    assert.match(detail.failures[0]!.path, /missing\.ts$/);
    assert.match(detail.failures[0]!.reason, /404/);
  });

  test('/metrics: process counters and deployment gauges in Prometheus text format', async () => {
    // Prepare: a class transferred (the previous tests), so that there is something to count.
    await finished('dash-media-only');

    // Act
    const res = await call('/metrics', { headers: BEARER });
    const value = (series: string) => {
      const line = res.text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };

    // Assess
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.ok(value('colony_files_total{status="copied"}')! >= 4, res.text);
    assert.ok(value('colony_files_total{status="failed"}')! >= 1);
    assert.ok(value('colony_bytes_total{status="copied"}')! > 0);
    assert.ok(value('colony_classes{status="transferred"}')! >= 1);
    assert.ok(value('colony_classes{status="failed"}')! >= 1);
    assert.ok(value('colony_class_files{status="copied"}')! >= 4);
    assert.equal(value('colony_class_files{status="failed"}'), 1);
    assert.equal(value('colony_group_lag{stream="jobs",shard="0",group="transfer"}'), 0);
    assert.notEqual(
      value('colony_group_pending{stream="results",shard="0",group="aggregator"}'),
      undefined,
    );
    assert.notEqual(value('colony_stream_length{stream="jobs",shard="0"}'), undefined);
    assert.ok(value('colony_copy_duration_seconds_count{status="copied"}')! >= 4);
    assert.ok(value('colony_redis_round_trips_total')! > 0);
    assert.ok(value('colony_redis_commands_total')! >= value('colony_redis_round_trips_total')!);
    assert.ok(value('colony_deliveries_total{group="transfer",outcome="acked"}')! >= 1);
    assert.match(res.text, /# TYPE colony_lambda_invocations_total counter/);
    assert.match(res.text, /# TYPE colony_lambda_throttles_total counter/);
    assert.match(res.text, /# TYPE colony_dead_letters gauge/);
    assert.match(res.text, /^process_cpu_seconds_total /m);
  });

  test('/readyz is ready while Redis answers and every stage group exists, and names a missing one', async () => {
    // Prepare: routes over a prefix where no stage has started yet.
    const keys = new Keys(uniquePrefix('ready'));
    const routes = await startServiceRoutes({
      redis: host.redis,
      keys,
      config: { dashboardToken: TOKEN },
      logger: silentLogger,
      stages: ['transfer'],
      assetsDir: await fakeAssets(),
      poll: POLL,
    });
    const side = await startServiceHttp({
      port: 0,
      host: '127.0.0.1',
      redis: host.redis,
      deps: host.deps,
      info: {},
      routes,
    });
    try {
      // Act
      const missing = await call('/readyz', { base: side.url });
      await host.redis.xgroup('CREATE', keys.stream('jobs'), 'transfer', '0', 'MKSTREAM');
      const ready = await call('/readyz', { base: side.url });

      // Assess
      assert.equal(missing.status, 503);
      assert.deepEqual(missing.json(), {
        ok: false,
        redis: 'up',
        missingGroups: [`transfer on ${keys.stream('jobs')}`],
      });
      assert.equal(ready.status, 200, ready.text);
      assert.deepEqual(ready.json(), { ok: true, redis: 'up', missingGroups: [] });
    } finally {
      await side.close();
      await deletePrefix(TEST_REDIS_URL, keys.prefix);
    }
  });
});

describe('dead letters', () => {
  test('are listed with reason and history; retry and purge do what colony dlq does', async () => {
    // Prepare: a batch for a class nobody requested is dead-lettered by the transfer stage.
    await host.deps.publisher.publish('jobs', [
      {
        type: 'file-jobs',
        v: SCHEMA_VERSION,
        classId: 'dash-nobody',
        run: 1,
        files: [{ ordinal: 0, url: `${origin.url}/hls/broken/seg0.ts`, key: 'x/seg0.ts' }],
      },
    ]);
    const listed = async () =>
      DeadLetterList.parse((await call('/api/dead-letters', { headers: BEARER })).json());
    const first = await waitFor(
      async () => ((await listed()).total > 0 ? listed() : undefined),
      15_000,
      'a dead letter',
    );
    const post = (action: string, body: unknown) =>
      call(`/api/dead-letters/${action}`, {
        method: 'POST',
        headers: { ...BEARER, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    // Act
    const retried = await post('retry', { ids: [first.deadLetters[0]!.id] });
    const again = await waitFor(
      async () => {
        const l = await listed();
        return l.total > 0 && l.deadLetters[0]!.id !== first.deadLetters[0]!.id ? l : undefined;
      },
      15_000,
      'the retried batch dead-lettered again (its class is still unknown)',
    );
    const bad = await post('retry', { ids: ['not-an-id'] });
    const purged = await post('purge', { all: true });
    const after = await listed();
    const pipeline = PipelineStatus.parse(
      (await call('/api/pipeline', { headers: BEARER })).json(),
    );

    // Assess
    const letter = first.deadLetters[0]!;
    assert.equal(letter.stream, 'jobs');
    assert.equal(letter.group, 'transfer');
    assert.equal(letter.deliveries, 1);
    assert.equal(letter.classId, 'dash-nobody');
    assert.equal(letter.files, 1);
    assert.equal(letter.type, 'file-jobs');
    assert.match(letter.reason, /unknown class dash-nobody/);
    assert.ok(letter.deadAt > 0 && letter.entryId.includes('-'));
    assert.equal(retried.status, 200, retried.text);
    assert.deepEqual(retried.json(), { selected: 1, done: 1 });
    assert.equal(again.total, 1, 'the retried letter left dead, its new death is the only one');
    assert.equal(bad.status, 400);
    assert.deepEqual(purged.json(), { selected: 1, done: 1 });
    assert.equal(after.total, 0);
    assert.ok(pipeline.streams.some((s) => s.stream === 'dead'));
  });
});
