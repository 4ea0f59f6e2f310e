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
import { media, playlist, startRouteOrigin, type RouteOrigin } from './crawl/hls-origin.js';

// The crawler, transfer and aggregator stages against a real Redis, an origin on 127.0.0.1 and a
// "foreign host" on 127.0.0.2: hostile classes fail with the reason named, nothing is fetched
// from the foreign host, and nothing is written outside the destination.
const config = testConfig({ copyTimeoutMs: 5000 });
let host: StageHost;
let origin: RouteOrigin;
let foreign: RouteOrigin;
let root: string;
let dest: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'colony-crawl-'));
  dest = join(root, 'dest');
  foreign = await startRouteOrigin(
    { '/evil.m3u8': media('evil.ts'), '/evil.ts': 'evil' },
    '127.0.0.2',
  );
  origin = await startRouteOrigin({
    // A title whose playlists name a gap, a FairPlay key, a content steering server and an
    // interstitial on another host: copied without any of them, and transferred.
    '/lib/good/master.m3u8': playlist(
      '#EXT-X-CONTENT-STEERING:SERVER-URI="/steer.json",PATHWAY-ID="A"',
      '#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://title",KEYFORMAT="com.apple.streamingkeydelivery"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1',
      'v0/index',
    ),
    '/lib/good/v0/index': {
      type: 'text/plain',
      body: playlist(
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-KEY:METHOD=AES-128,URI="../k.key?r=1"',
        '#EXTINF:4,',
        's0.ts?sig=1',
        '#EXT-X-GAP',
        '#EXTINF:4,',
        'gone.ts',
        `#EXT-X-DATERANGE:ID="ad",CLASS="com.apple.hls.interstitial",START-DATE="2024-01-01T00:00:00Z",X-ASSET-URI="${foreign.url}/evil.m3u8"`,
        '#EXTINF:4,',
        's1.ts',
        '#EXT-X-ENDLIST',
      ),
    },
    '/lib/good/k.key': { body: '0123456789abcdef', type: 'application/octet-stream' },
    '/lib/good/v0/s0.ts': { body: 'segment zero', type: 'video/mp2t' },
    '/lib/good/v0/s1.ts': { body: 'segment one', type: 'video/mp2t' },
    '/lib/foreign/master.m3u8': playlist(
      '#EXT-X-STREAM-INF:BANDWIDTH=1',
      `${foreign.url}/evil.m3u8`,
    ),
    '/lib/traversal/index.m3u8': media('ok.ts', '..%2f..%2f..%2f..%2fetc%2fpasswd'),
    '/lib/traversal/ok.ts': 'ok',
    '/lib/cycle/master.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'master.m3u8'),
    '/lib/garbage/master.m3u8': { body: '<html>Sign in</html>', type: 'text/html' },
    '/lib/live/index.m3u8': playlist('#EXT-X-TARGETDURATION:4', '#EXTINF:4,', 's0.ts'),
    // Issue 11 item 1: a crawled file in the place of colony's audit archive.
    '/lib/forge/index.m3u8': media(
      'ok.ts',
      '/_colony/archive/colony/jobs/0/9999999999999-0-9999999999999-0.ndjson.gz',
    ),
    '/lib/forge/ok.ts': 'ok',
    '/_colony/archive/colony/jobs/0/9999999999999-0-9999999999999-0.ndjson.gz': 'forged',
    // Issue 11 item 11: keys that a destination takes but that bite later.
    '/lib/bidi/index.m3u8': media('ok.ts', 'evil%E2%80%AEst.ts'),
    '/lib/twins/index.m3u8': media('caf%C3%A9.ts', 'cafe%CC%81.ts'),
    '/lib/file-and-folder/index.m3u8': media('x', 'x/a.ts'),
    '/lib/temp-name/index.m3u8': media('ok.ts', '.a.ts.0123456789abcdef.tmp'),
  });
  // The production fetcher (HttpSource) and copier: no fetchText or runtime override.
  host = await startStages({
    config: { ...config, maxPlaylistBytes: 64 * 1024 },
    stages: ['crawler', 'transfer', 'aggregator'],
    logger: silentLogger,
  });
});

after(async () => {
  await host?.stop();
  await origin?.close();
  await foreign?.close();
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

test('a title with a gap, a FairPlay key, content steering and a foreign interstitial is transferred without them', async () => {
  const { state, failures } = await run('/lib/good/master.m3u8');
  assert.equal(state.status, 'transferred', JSON.stringify(failures));
  assert.equal(state.total, 5);
  assert.deepEqual(
    (await filesUnder(dest)).filter((f) => f.startsWith('lib/good/')),
    [
      'lib/good/k.key',
      'lib/good/master.m3u8',
      'lib/good/v0/index',
      'lib/good/v0/s0.ts',
      'lib/good/v0/s1.ts',
    ],
  );
  assert.equal(await readFile(join(dest, 'lib/good/v0/s0.ts'), 'utf8'), 'segment zero');
  assert.deepEqual(foreign.requests, []);
  assert.ok(!origin.requests.some((r) => r.startsWith('/steer')));
});

const hostile: [string, RegExp][] = [
  ['/lib/foreign/master.m3u8', /127\.0\.0\.2:\d+, outside the allowed origins/],
  ['/lib/traversal/index.m3u8', /percent-encoded dot, slash/],
  [
    '/lib/cycle/master.m3u8',
    /playlist cycle: \/lib\/cycle\/master\.m3u8 -> \/lib\/cycle\/master\.m3u8/,
  ],
  ['/lib/garbage/master.m3u8', /not an HLS playlist.*Content-Type text\/html/],
  ['/lib/live/index.m3u8', /live playlist \(no EXT-X-ENDLIST\)/],
  [
    '/lib/forge/index.m3u8',
    /destination key "_colony\/archive\/colony\/jobs\/0\/9999999999999-0-9999999999999-0\.ndjson\.gz" of .* is under _colony\/, which colony keeps for its own records/,
  ],
  ['/lib/bidi/index.m3u8', /bidirectional control character U\+202E/],
  [
    '/lib/twins/index.m3u8',
    /"lib\/twins\/caf\\u00e9\.ts" and "lib\/twins\/cafe\\u0301\.ts" are one name in two Unicode forms \(NFC and NFD\)/,
  ],
  [
    '/lib/file-and-folder/index.m3u8',
    /destination key "lib\/file-and-folder\/x" is a file, and "lib\/file-and-folder\/x\/a\.ts" needs it to be a folder/,
  ],
  ['/lib/temp-name/index.m3u8', /has the form of a temporary file of a file:\/\/ destination/],
];

for (const [path, reason] of hostile) {
  test(`${path} fails the class with the reason named, and nothing leaves the destination`, async () => {
    const { state, failures } = await run(path);
    assert.equal(state.status, 'failed');
    assert.equal(failures.length, 1);
    assert.match(failures[0]!.reason, reason);
    assert.deepEqual(foreign.requests, []);
    assert.deepEqual(
      (await filesUnder(dest)).filter((f) => !f.startsWith('lib/good/')),
      [],
    );
    for (const entry of await readdir(root))
      assert.equal(entry, 'dest', 'nothing written beside the destination');
  });
}
