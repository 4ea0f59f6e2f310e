import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSampleOrigin, type SampleOrigin } from '../../../cli/sample-origin.js';
import { requestClass } from '../../../consumers/requests/ingest.js';
import {
  isClean,
  reconcile,
  waitForRepairs,
  type ReconcileDeps,
} from '../../../consumers/audit/reconcile.js';
import { startStages, type StageHost } from '../../../consumers/stages.js';
import type { Destination } from '../../../copy/destinations/destination.js';
import { FileDestination } from '../../../copy/destinations/file-destination.js';
import { isFinished } from '../../../schemas/class-state.js';
import { StreamArchive } from '../../../streams/archive.js';
import { silentLogger } from '../../../streams/log.js';
import { trimStreams } from '../../../streams/retention.js';
import { HLS_ROOT, expectedFixtures } from '../../helpers/fixtures.js';
import { TEST_REDIS_URL, deletePrefix, testConfig, waitFor } from '../../helpers/redis.js';

let origin: SampleOrigin;
let host: StageHost;
let out: string;
let prefix: string;
let deps: ReconcileDeps;
const fixture = expectedFixtures()['ts-multivariant']!;
const archiveRoot = () => join(out, 'archive-home');

before(async () => {
  origin = await startSampleOrigin({ root: HLS_ROOT });
  out = await mkdtemp(join(tmpdir(), 'colony-reconcile-'));
  const config = testConfig({ dest: `file://${out}/lib`, batchSize: 5 });
  prefix = config.prefix;
  host = await startStages({
    config,
    stages: ['crawler', 'transfer', 'aggregator'],
    logger: silentLogger,
  });
  const dests = new Map<string, Destination>();
  deps = {
    redis: host.redis,
    keys: host.deps.keys,
    classes: host.deps.classes,
    publisher: host.deps.publisher,
    batchSize: 5,
    destination: (url) => {
      if (!dests.has(url))
        dests.set(url, new FileDestination({ root: new URL(url).pathname, url }));
      return dests.get(url)!;
    },
  };
  await requestClass(host.deps.classes, host.deps.publisher, {
    classId: 'multi',
    manifestUrl: `${origin.url}/hls/${fixture.manifest}`,
    dest: config.dest!,
  });
  await waitFor(
    async () => {
      const s = await host.deps.classes.get('multi');
      return s && isFinished(s) ? s : undefined;
    },
    30_000,
    'class finished',
  );
});

after(async () => {
  await host.stop();
  await origin.close();
  await deletePrefix(TEST_REDIS_URL, prefix);
  await rm(out, { recursive: true, force: true });
});

const local = (file: string) => join(out, 'lib', 'hls', file);

describe('reconcile', () => {
  test('a complete class reconciles clean', async () => {
    const [r] = await reconcile(deps, ['multi']);
    assert.ok(r && isClean(r), JSON.stringify(r));
    assert.equal(r.files, fixture.files.length);
    assert.equal(r.present, fixture.files.length);
  });

  test('finds a file deleted and a file cut short, and --repair brings them back byte-identical, counted once', async () => {
    // Prepare
    const [gone, cut] = fixture.files.filter((f) => f.endsWith('.ts'));
    await unlink(local(gone!));
    await truncate(local(cut!), 10);
    const stateBefore = (await host.deps.classes.get('multi'))!;

    // Act
    const found = await reconcile(deps, ['multi'], { repair: true });
    const [after] = await waitForRepairs(deps, found, { timeoutMs: 20_000, pollMs: 100 });

    // Assess
    const problems = found[0]!.problems.map((p) => [p.key.replace(/^hls\//, ''), p.problem]).sort();
    assert.deepEqual(
      problems,
      [
        [gone, 'missing'],
        [cut, 'size'],
      ].sort(),
    );
    assert.equal(found[0]!.repaired, 2);
    assert.ok(after && isClean(after), JSON.stringify(after));
    for (const f of [gone!, cut!]) {
      assert.ok(
        (await readFile(local(f))).equals(await readFile(join(HLS_ROOT, f))),
        `${f} differs`,
      );
    }
    // The aggregator saw the repaired results and counted nothing twice.
    await new Promise((r) => setTimeout(r, 300));
    const stateAfter = (await host.deps.classes.get('multi'))!;
    assert.deepEqual(
      [stateAfter.done, stateAfter.copied, stateAfter.bytes, stateAfter.status],
      [stateBefore.done, stateBefore.copied, stateBefore.bytes, stateBefore.status],
    );
    assert.deepEqual(await reconcile(deps, ['multi']).then((r) => r.map(isClean)), [true]);
  });

  test('after the streams are trimmed, the archive keeps the history; without it the files are unlogged', async () => {
    // Prepare: every group has acked everything; trim jobs and results with an archive.
    await waitFor(
      async () => {
        const pending = await host.redis.xpending(host.deps.keys.stream('results'), 'aggregator');
        return (pending as [number])[0] === 0 ? true : undefined;
      },
      10_000,
      'results acked',
    );
    const archive = new StreamArchive(new FileDestination({ root: archiveRoot() }), prefix);
    const trimmed = await trimStreams({ redis: host.redis, keys: host.deps.keys, archive }, [
      'jobs',
      'results',
    ]);
    assert.ok(
      trimmed.every((s) => s.trimmed > 0),
      JSON.stringify(trimmed.map((s) => [s.key, s.trimmed, s.note])),
    );
    await unlink(local(fixture.files[0]!));

    // Act
    const [withArchive] = await reconcile({ ...deps, archive }, ['multi']);
    const [withoutArchive] = await reconcile(deps, ['multi']);

    // Assess
    assert.equal(withArchive!.files, fixture.files.length);
    assert.deepEqual(
      withArchive!.problems.map((p) => [p.problem, p.outcome]),
      [['missing', 'copied']],
    );
    assert.equal(withoutArchive!.files, 0);
    assert.equal(withoutArchive!.unlogged, fixture.files.length);
    assert.equal(isClean(withoutArchive!), false);
  });

  test('an unknown class is reported, not thrown', async () => {
    const [r] = await reconcile(deps, ['no-such-class']);
    assert.match(r!.error ?? '', /no class no-such-class/);
  });
});
