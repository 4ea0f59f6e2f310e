import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSampleOrigin, type SampleOrigin } from '../../../cli/sample-origin.js';
import { walkClass } from '../../../consumers/crawl/walk-class.js';
import { expectedFixtures, HLS_ROOT } from '../../helpers/fixtures.js';
import { httpFetcher } from './hls-origin.js';

let origin: SampleOrigin;
let http: ReturnType<typeof httpFetcher>;

before(async () => {
  origin = await startSampleOrigin({ root: HLS_ROOT });
  http = httpFetcher();
});

after(async () => {
  await http.close();
  await origin.close();
});

for (const [name, fixture] of Object.entries(expectedFixtures())) {
  test(`walkClass lists exactly the files of fixture ${name}`, async () => {
    // Prepare
    const manifestUrl = `${origin.url}/hls/${fixture.manifest}`;

    // Act
    const walk = await walkClass(manifestUrl, { fetchText: http.fetchText, sourceBase: 'hls' });

    // Assess
    const keys = walk.files.map((f) => f.key);
    assert.deepEqual([...keys].sort(), fixture.files);
    assert.equal(new Set(keys).size, keys.length, 'each file listed once');
    assert.equal(walk.manifestKey, fixture.manifest);
    assert.equal(walk.files[0]?.key, fixture.manifest, 'the entry playlist comes first');
    assert.deepEqual(walk.gaps, []);
    assert.deepEqual(walk.live, []);
    for (const f of walk.files) {
      assert.ok(f.url.startsWith(`${origin.url}/hls/`), f.url);
      assert.equal(new URL(f.url).hash, '');
    }
  });
}

test('walkClass keeps query strings for fetching and drops them from keys (paths-and-queries)', async () => {
  // Act
  const walk = await walkClass(`${origin.url}/hls/paths-and-queries/master.m3u8`, {
    fetchText: http.fetchText,
    sourceBase: 'hls',
  });

  // Assess
  const byKey = new Map(walk.files.map((f) => [f.key, f]));
  assert.equal(
    byKey.get('paths-and-queries/playlists/v0.m3u8')?.url,
    `${origin.url}/hls/paths-and-queries/playlists/v0.m3u8?token=abc`,
  );
  assert.equal(byKey.get('paths-and-queries/playlists/v1.m3u8')?.kind, 'playlist');
  const seg = byKey.get('paths-and-queries/media/v1/seg0.ts');
  assert.equal(
    seg?.url,
    `${origin.url}/hls/paths-and-queries/media/v1/seg0.ts?sig=0123abcd&exp=1700000000`,
  );
  assert.equal(seg?.kind, 'segment');
});

test('walkClass gives the same files in the same order on every crawl', async () => {
  // Act
  const first = await walkClass(`${origin.url}/hls/fmp4-audio-subs/master.m3u8`, {
    fetchText: http.fetchText,
  });
  const second = await walkClass(`${origin.url}/hls/fmp4-audio-subs/master.m3u8`, {
    fetchText: http.fetchText,
    concurrency: 1,
  });

  // Assess
  assert.deepEqual(first.files, second.files);
  assert.deepEqual(
    first.files.filter((f) => f.kind === 'playlist').map((f) => f.key),
    [
      'hls/fmp4-audio-subs/master.m3u8',
      'hls/fmp4-audio-subs/audio_en/index.m3u8',
      'hls/fmp4-audio-subs/audio_de/index.m3u8',
      'hls/fmp4-audio-subs/subs_en/index.m3u8',
      'hls/fmp4-audio-subs/video/index.m3u8',
    ],
  );
});

test('walkClass files keys, init segments and byte-range files by kind, each once', async () => {
  // Act
  const aes = await walkClass(`${origin.url}/hls/aes128-rotation/master.m3u8`, {
    fetchText: http.fetchText,
    sourceBase: 'hls',
  });
  const ranges = await walkClass(`${origin.url}/hls/byterange-single-file/master.m3u8`, {
    fetchText: http.fetchText,
    sourceBase: 'hls',
  });
  const maps = await walkClass(`${origin.url}/hls/map-change/index.m3u8`, {
    fetchText: http.fetchText,
    sourceBase: 'hls',
  });

  // Assess
  const kinds = (files: { key: string; kind: string }[]) =>
    Object.fromEntries(files.map((f) => [f.key, f.kind]));
  assert.equal(kinds(aes.files)['aes128-rotation/keys/k0.key'], 'key');
  assert.equal(kinds(aes.files)['aes128-rotation/keys/k1.key'], 'key');
  assert.deepEqual(
    ranges.files.map((f) => f.key),
    [
      'byterange-single-file/master.m3u8',
      'byterange-single-file/v0/index.m3u8',
      'byterange-single-file/v0/stream.ts',
    ],
  );
  assert.deepEqual(
    maps.files.map((f) => `${f.kind}:${f.key}`),
    [
      'playlist:map-change/index.m3u8',
      'init:map-change/init-160x90.mp4',
      'segment:map-change/a0.m4s',
      'segment:map-change/a1.m4s',
      'init:map-change/init-128x72.mp4',
      'segment:map-change/b0.m4s',
      'segment:map-change/b1.m4s',
    ],
  );
});
