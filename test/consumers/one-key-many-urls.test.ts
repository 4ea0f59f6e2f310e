import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { classIdFor, requestClass } from '../../consumers/requests/ingest.js';
import { startStages, type StageHost } from '../../consumers/stages.js';
import { silentLogger } from '../../streams/log.js';
import type { ClassState } from '../../schemas/class-state.js';
import type { Failure } from '../../schemas/events.js';
import { deletePrefix, testConfig, TEST_REDIS_URL, waitFor } from '../helpers/redis.js';
import { playlist, startRouteOrigin, type RouteOrigin } from './crawl/hls-origin.js';

// SPEC section 4: URLs that differ only in their query string (signed tokens, redundant
// EXT-X-STREAM-INF entries for CDN failover, one playlist reached as relative and as absolute
// URL) are one destination file, copied once; only when their bytes differ is it a conflict.
// Crawler, transfer and aggregator against a real Redis and an origin on loopback.
const config = testConfig({ copyTimeoutMs: 5000 });
let host: StageHost;
let origin: RouteOrigin;
let root: string;
let dest: string;

const variant = playlist(
  '#EXT-X-TARGETDURATION:4',
  '#EXT-X-KEY:METHOD=AES-128,URI="key.php?r=52"',
  '#EXTINF:4,',
  's0.ts?token=aaa',
  '#EXT-X-KEY:METHOD=AES-128,URI="key.php?r=53"',
  '#EXTINF:4,',
  's1.ts',
  '#EXT-X-ENDLIST',
);
const binary = (body: string) => ({ body, type: 'application/octet-stream' });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'colony-one-key-'));
  dest = join(root, 'dest');
  origin = await startRouteOrigin({
    // Failover: the same variant twice with other tokens, once as an absolute URL.
    '/same/master.m3u8': (self) =>
      playlist(
        '#EXT-X-STREAM-INF:BANDWIDTH=1',
        'v/index.m3u8?cdn=a&token=1',
        '#EXT-X-STREAM-INF:BANDWIDTH=1',
        'v/index.m3u8?cdn=b&token=2',
        '#EXT-X-STREAM-INF:BANDWIDTH=1',
        `${self}/same/v/index.m3u8`,
      ),
    '/same/v/index.m3u8': variant,
    // Key rotation by query, both answers the same bytes; the segment also under a second token.
    '/same/v/key.php': binary('0123456789abcdef'),
    '/same/v/s0.ts': binary('segment zero'),
    '/same/v/s1.ts': binary('segment one'),

    // Two keys behind one URL path: the destination can hold only one of them.
    '/rotating/index.m3u8': variant,
    '/rotating/key.php': (_self, query) => binary(query === '?r=52' ? 'key fifty-two!!!' : 'k53'),
    '/rotating/s0.ts': binary('segment zero'),
    '/rotating/s1.ts': binary('segment one'),

    // Two playlists behind one path that differ: fails at crawl time, naming both paths.
    '/lists/master.m3u8': playlist(
      '#EXT-X-STREAM-INF:BANDWIDTH=1',
      'v.m3u8?lang=en',
      '#EXT-X-STREAM-INF:BANDWIDTH=2',
      'v.m3u8?lang=fr',
    ),
    '/lists/v.m3u8': (_self, query) =>
      playlist('#EXT-X-TARGETDURATION:4', '#EXTINF:4,', `${query.slice(6)}.ts`, '#EXT-X-ENDLIST'),
  });
  host = await startStages({
    config,
    stages: ['crawler', 'transfer', 'aggregator'],
    logger: silentLogger,
  });
});

after(async () => {
  await host?.stop();
  await origin?.close();
  await deletePrefix(TEST_REDIS_URL, config.prefix);
  await rm(root, { recursive: true, force: true });
});

async function run(path: string): Promise<{ state: ClassState; failures: Failure[] }> {
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

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

const requestsFor = (path: string) =>
  origin.requests.filter((r) => r.split('?')[0] === path).sort();

test('URLs that differ only in their query are one file, copied once and checked', async () => {
  const { state, failures } = await run('/same/master.m3u8');

  assert.equal(state.status, 'transferred', JSON.stringify(failures));
  assert.equal(state.total, 5, 'master, variant, key, two segments: one file per key');
  assert.deepEqual(
    (await filesUnder(dest)).filter((f) => f.startsWith('same/')),
    ['same/master.m3u8', 'same/v/index.m3u8', 'same/v/key.php', 'same/v/s0.ts', 'same/v/s1.ts'],
  );
  assert.equal(await readFile(join(dest, 'same/v/key.php'), 'utf8'), '0123456789abcdef');
  // The key is read from both of its URLs: copied from the first, compared from the second.
  assert.deepEqual(requestsFor('/same/v/key.php'), [
    '/same/v/key.php?r=52',
    '/same/v/key.php?r=53',
  ]);
});

test('two URLs of one key that serve different bytes fail that file as a conflict', async () => {
  const { state, failures } = await run('/rotating/index.m3u8');

  assert.equal(state.status, 'failed');
  assert.equal(failures.length, 1, JSON.stringify(failures));
  assert.equal(failures[0]!.path, 'rotating/key.php');
  assert.match(
    failures[0]!.reason,
    /\/rotating\/key\.php\?… and .*\/rotating\/key\.php\?… name this key but serve different bytes \(16 and 3\)/,
  );
  assert.doesNotMatch(failures[0]!.reason, /r=5/, 'the query (often a credential) is not shown');
  assert.equal(state.copied, 3, 'the playlist and both segments are copied');
});

test('two URLs of one playlist key that serve different playlists fail the class at crawl time', async () => {
  const { state, failures } = await run('/lists/master.m3u8');

  assert.equal(state.status, 'failed');
  assert.equal(failures.length, 1);
  assert.match(
    failures[0]!.reason,
    /two URLs of the destination key "lists\/v\.m3u8" serve different playlists: \/lists\/v\.m3u8\?… and \/lists\/v\.m3u8\?…/,
  );
  assert.deepEqual(
    (await filesUnder(dest)).filter((f) => f.startsWith('lists/')),
    [],
  );
});
