import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { classIdFor, requestClass } from '../../consumers/requests/ingest.js';
import { startStages, type StageHost } from '../../consumers/stages.js';
import { createLogger, type Logger } from '../../streams/log.js';
import { deletePrefix, testConfig, TEST_REDIS_URL, waitFor } from '../helpers/redis.js';
import { playlist, startRouteOrigin, type RouteOrigin } from './crawl/hls-origin.js';

// SPEC section 4 lists preload hints among the files of a title. In a live window
// (COLONY_ALLOW_LIVE) a hinted part or map that the origin serves is copied; one it does not
// serve yet is recorded, not failed; a delta update is refused even for a live copy.
// Crawler (with the production HTTP fetcher and probe), transfer and aggregator on a real Redis.
const config = testConfig({ copyTimeoutMs: 5000, allowLive: true });
let host: StageHost;
let origin: RouteOrigin;
let root: string;
let dest: string;
const lines: Record<string, unknown>[] = [];
const logger: Logger = createLogger('info', 'colony', {
  format: 'json',
  destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
});
const binary = (body: string) => ({ body, type: 'video/mp4' });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'colony-hints-'));
  dest = join(root, 'dest');
  origin = await startRouteOrigin({
    '/ll/index.m3u8': playlist(
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-PART-INF:PART-TARGET=1',
      '#EXT-X-MAP:URI="init1.mp4"',
      '#EXTINF:4,',
      's0.mp4',
      '#EXT-X-PART:DURATION=1,URI="p1.0.mp4"',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p1.1.mp4"',
      '#EXT-X-PRELOAD-HINT:TYPE=MAP,URI="init2.mp4"',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p1.2.mp4"',
    ),
    '/ll/init1.mp4': binary('init one'),
    '/ll/s0.mp4': binary('segment zero'),
    '/ll/p1.0.mp4': binary('part 1.0'),
    '/ll/p1.1.mp4': binary('part 1.1, hinted and produced'),
    '/ll/init2.mp4': binary('init two, hinted and produced'),
    // p1.2.mp4 is not produced yet: a 404.
    '/delta/index.m3u8': playlist(
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=24',
      '#EXT-X-SKIP:SKIPPED-SEGMENTS=10',
      '#EXTINF:4,',
      's10.mp4',
    ),
  });
  host = await startStages({ config, stages: ['crawler', 'transfer', 'aggregator'], logger });
});

after(async () => {
  await host?.stop();
  await origin?.close();
  await deletePrefix(TEST_REDIS_URL, config.prefix);
  await rm(root, { recursive: true, force: true });
});

async function run(path: string) {
  const manifestUrl = `${origin.url}${path}`;
  const classId = classIdFor(manifestUrl, `file://${dest}`);
  await requestClass(host.deps.classes, host.deps.publisher, {
    classId,
    manifestUrl,
    dest: `file://${dest}`,
  });
  const state = await waitFor(
    async () => {
      const s = await host.deps.classes.get(classId);
      return s && (s.status === 'transferred' || s.status === 'failed') ? s : undefined;
    },
    20_000,
    `class ${path} to finish`,
  );
  return { state, failures: await host.deps.classes.failures(classId) };
}

test('preload hints the origin serves are copied; one not produced yet is recorded, not failed', async () => {
  const { state, failures } = await run('/ll/index.m3u8');

  assert.equal(state.status, 'transferred', JSON.stringify(failures));
  assert.equal(state.total, 6);
  const entries = await readdir(join(dest, 'll'), { recursive: true, withFileTypes: true });
  assert.deepEqual(
    entries
      .filter((e) => e.isFile())
      .map((e) => relative(join(dest, 'll'), join(e.parentPath, e.name)))
      .sort(),
    ['index.m3u8', 'init1.mp4', 'init2.mp4', 'p1.0.mp4', 'p1.1.mp4', 's0.mp4'],
  );
  assert.equal(await readFile(join(dest, 'll/init2.mp4'), 'utf8'), 'init two, hinted and produced');
  assert.ok(
    lines.some(
      (l) =>
        l.msg === 'preload hint not served yet, not copied' &&
        /\/ll\/p1\.2\.mp4$/.test(String(l.url)) &&
        /HTTP 404/.test(String(l.reason)),
    ),
    JSON.stringify(lines),
  );
});

test('a delta update is refused with COLONY_ALLOW_LIVE too, asking for the full playlist', async () => {
  const { state, failures } = await run('/delta/index.m3u8');

  assert.equal(state.status, 'failed');
  assert.equal(failures.length, 1);
  assert.match(failures[0]!.reason, /delta update \(EXT-X-SKIP\).*give colony the full playlist/);
});
