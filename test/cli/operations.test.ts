import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startSampleOrigin, type SampleOrigin } from '../../cli/sample-origin.js';
import { collect, runColony, spawnColony } from '../helpers/cli.js';
import { HLS_ROOT, expectedFixtures } from '../helpers/fixtures.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/redis.js';
import {
  DlqListDocument,
  ReconcileDocument,
  ReplayGroupDocument,
  ReplayLine,
  ReportDocument,
  ScanDocument,
  StatusDocument,
  TrimDocument,
} from '../../schemas/cli-output.js';

const fixtures = expectedFixtures();
let origin: SampleOrigin;
let out: string;
let redis: Redis;
let serve: ChildProcess | undefined;
const prefix = uniquePrefix('ops');
const env = () => ({
  REDIS_URL: TEST_REDIS_URL,
  COLONY_PREFIX: prefix,
  COLONY_DEST: `file://${out}/lib`,
  COLONY_BLOCK_MS: '100',
});
const ids = ['ops-multi', 'ops-media'] as const;

before(async () => {
  origin = await startSampleOrigin({ root: HLS_ROOT });
  out = await mkdtemp(join(tmpdir(), 'colony-ops-'));
  redis = new Redis(TEST_REDIS_URL);
});

after(async () => {
  if (serve && serve.exitCode === null) {
    serve.kill('SIGKILL');
    await new Promise((r) => serve!.once('close', r));
  }
  redis.disconnect();
  await origin.close();
  await deletePrefix(TEST_REDIS_URL, prefix);
  await rm(out, { recursive: true, force: true });
});

async function finished(classId: string): Promise<void> {
  await waitFor(
    async () => {
      const [status, published] = await redis.hmget(
        `${prefix}:{class:${classId}}:meta`,
        'status',
        'published',
      );
      return status === 'transferred' && Number(published) > 0 ? true : undefined;
    },
    30_000,
    `${classId} transferred`,
  );
}

describe('operations from the command line', () => {
  test('scan skips test, aborted and invalid records with reasons, and a second scan enqueues nothing', async () => {
    // Prepare
    const catalog = join(out, 'catalog.ndjson');
    const lines = [
      {
        classId: ids[0],
        manifestUrl: `${origin.url}/hls/${fixtures['ts-multivariant']!.manifest}`,
      },
      { classId: 'ops-test', manifestUrl: `${origin.url}/hls/x.m3u8`, test: true },
      { classId: 'ops-aborted', manifestUrl: `${origin.url}/hls/y.m3u8`, aborted: true },
      { classId: ids[1], manifestUrl: `${origin.url}/hls/${fixtures['media-only']!.manifest}` },
    ].map((l) => JSON.stringify(l));
    await writeFile(catalog, [...lines, '{"classId": "no-manifest"}', 'not json'].join('\n'));

    // Act
    const first = await runColony(['scan', '--catalog', catalog], env());
    const second = await runColony(['scan', '--catalog', catalog, '--json'], env());

    // Assess
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stdout, /enqueued {2}record 1: ops-multi/);
    assert.match(first.stdout, /skipped {3}record 2: ops-test: test class/);
    assert.match(first.stdout, /skipped {3}record 3: ops-aborted: aborted class/);
    assert.match(first.stdout, /skipped {3}record 5: no-manifest: invalid record: manifestUrl/);
    assert.match(first.stdout, /skipped {3}record 6: \(no class id\): invalid record: not JSON/);
    assert.match(first.stdout, /6 records: 2 enqueued, 0 already known, 4 skipped \(2 invalid\)/);
    const summary = ScanDocument.parse(JSON.parse(second.stdout)).summary;
    assert.deepEqual(summary, { records: 6, enqueued: 0, known: 2, skipped: 4, invalid: 2 });
    assert.equal(await redis.xlen(`${prefix}:classes:{0}`), 2);
  });

  test('serve transfers the scanned classes; report, reconcile --repair, trim --archive and replay work on them', async () => {
    // Prepare: the service transfers what the scan enqueued.
    serve = spawnColony(['serve'], env());
    const served = collect(serve, 120_000);
    for (const id of ids) await finished(id);

    // report: a temporary group at 0 sees the whole history, and is gone after.
    const report = await runColony(['report', '--format', 'json'], env());
    assert.equal(report.code, 0, report.stderr);
    const r = ReportDocument.parse(JSON.parse(report.stdout));
    assert.equal(r.overall.transferred, 2);
    assert.equal(
      r.classes.find((c) => c.classId === ids[0])!.copied,
      fixtures['ts-multivariant']!.files.length,
    );
    const groups = (await redis.call('XINFO', 'GROUPS', `${prefix}:results:{0}`)) as unknown[][];
    assert.deepEqual(
      groups.map((g) => g[1]),
      ['aggregator'],
    );
    const csv = await runColony(['report', '--format', 'csv'], env());
    assert.match(csv.stdout.split('\n')[0]!, /^classId,status,run,files,copied/);

    // reconcile: clean, then a deleted file is found (exit 1) and repaired (exit 0).
    assert.equal((await runColony(['reconcile'], env())).code, 0);
    const clean = ReconcileDocument.parse(
      JSON.parse((await runColony(['reconcile', '--json'], env())).stdout),
    );
    assert.deepEqual(clean.classes.map((c) => c.classId).sort(), [...ids].sort());
    const status = StatusDocument.parse(
      JSON.parse((await runColony(['status', '--json'], env())).stdout),
    );
    assert.deepEqual(
      status.classes.map((c) => [c.classId, c.status]).sort(),
      ids.map((id) => [id, 'transferred']).sort(),
    );
    assert.equal(
      DlqListDocument.parse(JSON.parse((await runColony(['dlq', 'list', '--json'], env())).stdout))
        .deadLetters.length,
      0,
    );
    const victim = fixtures['ts-multivariant']!.files.find((f) => f.endsWith('.ts'))!;
    await unlink(join(out, 'lib', 'hls', victim));
    const broken = await runColony(['reconcile', ids[0]], env());
    assert.equal(broken.code, 1);
    assert.match(
      broken.stdout,
      new RegExp(`hls/${victim.replace(/[/.]/g, '\\$&')} #\\d+: missing \\(was copied`),
    );
    const repaired = await runColony(['reconcile', ids[0], '--repair', '--wait', '30'], env());
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    assert.ok(
      (await readFile(join(out, 'lib', 'hls', victim))).equals(
        await readFile(join(HLS_ROOT, victim)),
      ),
    );

    // trim --archive, then replay covers the trimmed entries from the archive.
    await waitFor(
      async () =>
        ((await redis.xpending(`${prefix}:results:{0}`, 'aggregator')) as [number])[0] === 0 ||
        undefined,
      10_000,
      'acked',
    );
    const before = await runColony(['replay', '--stream', 'jobs', '--no-archive'], env());
    const trim = await runColony(['trim', '--archive', '--json'], env());
    assert.equal(trim.code, 0, trim.stderr);
    const t = TrimDocument.parse(JSON.parse(trim.stdout));
    assert.ok(t.shards.find((s) => s.key === `${prefix}:jobs:{0}`)!.trimmed > 0);
    assert.match(
      t.shards.find((s) => s.key === `${prefix}:outcomes:{0}`)!.note ?? '',
      /never trimmed/,
    );
    const after = await runColony(['replay', '--stream', 'jobs'], env());
    const lines = (s: string) =>
      s
        .trim()
        .split('\n')
        .map((l) => ReplayLine.parse(JSON.parse(l)));
    assert.deepEqual(
      lines(after.stdout).map((l) => l.id),
      lines(before.stdout).map((l) => l.id),
    );
    assert.ok(lines(after.stdout).every((l) => 'entry' in l));
    assert.ok(lines(after.stdout).some((l) => l.source === 'archive'));
    assert.equal((await runColony(['reconcile'], env())).code, 0, 'reconcile through the archive');

    // replay --group: a new group at 0; a bad position is a usage error.
    const attach = await runColony(
      ['replay', '--stream', 'outcomes', '--group', 'downstream', '--json'],
      env(),
    );
    assert.equal(attach.code, 0, attach.stderr);
    assert.deepEqual(
      ReplayGroupDocument.parse(JSON.parse(attach.stdout)).shards.map((s) => s.lastDeliveredId),
      ['0'],
    );
    const bad = await runColony(['replay', '--stream', 'jobs', '--from', 'last tuesday'], env());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--from: expected a stream ID/);

    serve.kill('SIGTERM');
    assert.equal((await served).code, 0);
  });
});
