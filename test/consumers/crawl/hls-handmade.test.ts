import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { walkClass, type WalkOptions } from '../../../consumers/crawl/walk-class.js';
import { httpFetcher, media, playlist, startRouteOrigin, type Route } from './hls-origin.js';

/** Serves `routes` on loopback, walks `entry`, and hands back the result and the origin. */
async function walk(
  t: TestContext,
  routes: Record<string, Route>,
  entry: string,
  options: Partial<WalkOptions> = {},
) {
  const origin = await startRouteOrigin(routes);
  const http = httpFetcher();
  t.after(async () => {
    await http.close();
    await origin.close();
  });
  const result = await walkClass(`${origin.url}${entry}`, {
    fetchText: http.fetchText,
    ...options,
  });
  const kinds = Object.fromEntries(result.files.map((f) => [f.key, f.kind]));
  return { result, origin, kinds, keys: result.files.map((f) => f.key) };
}

test('session data, session keys, image and I-frame streams, renditions sharing a NAME, no-.m3u8 renditions', async (t) => {
  // Prepare
  const routes: Record<string, Route> = {
    '/t/master.m3u8': playlist(
      '#EXT-X-SESSION-DATA:DATA-ID="com.example.title",URI="meta/title.json"',
      '#EXT-X-SESSION-DATA:DATA-ID="com.example.lang",VALUE="en"',
      '#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://title-key",KEYFORMAT="com.apple.streamingkeydelivery"',
      '#EXT-X-SESSION-KEY:METHOD=AES-128,URI="keys/session.key"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",URI="audio/stereo"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",URI="audio/surround.m3u8"',
      '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="English",INSTREAM-ID="CC1"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1000,AUDIO="aud",CLOSED-CAPTIONS="cc"',
      'video/index.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=2000,AUDIO="aud",CLOSED-CAPTIONS="cc"',
      'video/index.m3u8',
      '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100,URI="video/iframes.m3u8"',
      '#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=50,RESOLUTION=320x180,CODECS="jpeg",URI="images/index"',
    ),
    // No suffix, and a Content-Type that says nothing: recognised by its #EXTM3U.
    '/t/audio/stereo': { body: media('a0.aac', 'a1.aac'), type: 'application/octet-stream' },
    '/t/audio/surround.m3u8': media('s0.ec3'),
    '/t/video/index.m3u8': playlist(
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://asset-1",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"',
      '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,AAAAW3Bzc2g=",KEYFORMAT="urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",KEYID=0x1234',
      '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="../keys/cbcs.key",KEYFORMAT="identity"',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXTINF:4,',
      'seg0.m4s',
      '#EXTINF:4,',
      'seg1.m4s',
      '#EXT-X-ENDLIST',
    ),
    '/t/video/iframes.m3u8': playlist(
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-I-FRAMES-ONLY',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXTINF:4,',
      '#EXT-X-BYTERANGE:500@0',
      'seg0.m4s',
      '#EXTINF:4,',
      '#EXT-X-BYTERANGE:500@0',
      'seg1.m4s',
      '#EXT-X-ENDLIST',
    ),
    '/t/images/index': playlist(
      '#EXT-X-TARGETDURATION:60',
      '#EXT-X-TILES:RESOLUTION=64x36,LAYOUT=5x4,DURATION=3',
      '#EXTINF:60,',
      'tile0.jpg',
      '#EXTINF:60,',
      'tile1.jpg',
      '#EXT-X-ENDLIST',
    ),
  };

  // Act
  const { result, origin, kinds, keys } = await walk(t, routes, '/t/master.m3u8');

  // Assess
  assert.deepEqual(kinds, {
    't/master.m3u8': 'playlist',
    't/meta/title.json': 'session-data',
    't/keys/session.key': 'key',
    't/audio/stereo': 'playlist',
    't/audio/surround.m3u8': 'playlist',
    't/video/index.m3u8': 'playlist',
    't/video/iframes.m3u8': 'playlist',
    't/images/index': 'playlist',
    't/audio/a0.aac': 'segment',
    't/audio/a1.aac': 'segment',
    't/audio/s0.ec3': 'segment',
    't/keys/cbcs.key': 'key',
    't/video/init.mp4': 'init',
    't/video/seg0.m4s': 'segment',
    't/video/seg1.m4s': 'segment',
    't/images/tile0.jpg': 'segment',
    't/images/tile1.jpg': 'segment',
  });
  assert.equal(keys.length, 17);
  assert.deepEqual(
    result.skipped.map((s) => [s.uri, s.tag]),
    [
      ['skd://title-key', 'EXT-X-SESSION-KEY'],
      ['skd://asset-1', 'EXT-X-KEY'],
      ['data:text/plain;base64,…', 'EXT-X-KEY'],
    ],
  );
  assert.match(result.skipped[0]!.reason, /skd: key URI is not fetchable/);
  assert.match(result.skipped[2]!.reason, /inline/);
  // Only playlists are fetched by the crawl, each once, although two variants name one.
  assert.deepEqual([...origin.requests].sort(), [
    '/t/audio/stereo',
    '/t/audio/surround.m3u8',
    '/t/images/index',
    '/t/master.m3u8',
    '/t/video/iframes.m3u8',
    '/t/video/index.m3u8',
  ]);
});

test('LL-HLS parts, byte-range parts, preload hints, gap parts and rendition reports', async (t) => {
  // Prepare
  const routes = {
    '/ll/index.m3u8': playlist(
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-VERSION:9',
      '#EXT-X-PART-INF:PART-TARGET=1',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXTINF:4,',
      'seg0.m4s',
      '#EXT-X-PART:DURATION=1,URI="seg1.m4s",BYTERANGE="1000@0"',
      '#EXT-X-PART:DURATION=1,URI="seg1.m4s",BYTERANGE="1000@1000"',
      '#EXT-X-PART:DURATION=1,URI="part1.2.m4s",GAP=YES',
      '#EXT-X-PART:DURATION=1,URI="part1.3.m4s",INDEPENDENT=YES',
      '#EXTINF:4,',
      'seg1.m4s',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part2.0.m4s"',
      '#EXT-X-PRELOAD-HINT:TYPE=MAP,URI="init2.mp4"',
      '#EXT-X-RENDITION-REPORT:URI="../audio/index.m3u8",LAST-MSN=1,LAST-PART=3',
      '#EXT-X-ENDLIST',
    ),
  };

  // Act
  const { result, kinds, keys } = await walk(t, routes, '/ll/index.m3u8');

  // Assess
  assert.deepEqual(keys, [
    'll/index.m3u8',
    'll/init.mp4',
    'll/seg0.m4s',
    'll/seg1.m4s',
    'll/part1.3.m4s',
    'll/part2.0.m4s',
    'll/init2.mp4',
  ]);
  assert.equal(kinds['ll/part1.3.m4s'], 'part');
  assert.equal(kinds['ll/part2.0.m4s'], 'preload-hint');
  assert.equal(kinds['ll/init2.mp4'], 'init');
  assert.deepEqual(
    result.gaps.map((g) => g.key),
    ['ll/part1.2.m4s'],
  );
  assert.deepEqual(
    result.skipped.map((s) => [s.tag, new URL(s.uri).pathname]),
    [['EXT-X-RENDITION-REPORT', '/audio/index.m3u8']],
  );
});

test('EXT-X-DEFINE: every occurrence substituted, QUERYPARAM from the playlist URL, IMPORT from the multivariant playlist', async (t) => {
  // Prepare
  const routes = {
    '/def/master.m3u8': playlist(
      '#EXT-X-DEFINE:NAME="dir",VALUE="media"',
      '#EXT-X-DEFINE:QUERYPARAM="token"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="s",NAME="en",URI="{$dir}/subs/{$dir}.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1,SUBTITLES="s"',
      '{$dir}/v0.m3u8?token={$token}',
    ),
    '/def/media/subs/media.m3u8': media('en0.vtt'),
    '/def/media/v0.m3u8': playlist(
      '#EXT-X-DEFINE:IMPORT="dir"',
      '#EXT-X-DEFINE:IMPORT="token"',
      '#EXT-X-DEFINE:NAME="seg",VALUE="chunk"',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MAP:URI="{$seg}-init.mp4"',
      '#EXTINF:4,',
      '{$seg}-0.m4s?token={$token}',
      '#EXTINF:4,',
      '../{$dir}/{$seg}-1.m4s',
      '#EXT-X-ENDLIST',
    ),
  };

  // Act
  const { result, origin, keys } = await walk(t, routes, '/def/master.m3u8?token=s3cr3t');

  // Assess
  assert.deepEqual(keys, [
    'def/master.m3u8',
    'def/media/subs/media.m3u8',
    'def/media/subs/en0.vtt',
    'def/media/v0.m3u8',
    'def/media/chunk-init.mp4',
    'def/media/chunk-0.m4s',
    'def/media/chunk-1.m4s',
  ]);
  const byKey = new Map(result.files.map((f) => [f.key, f.url]));
  assert.equal(
    byKey.get('def/media/chunk-0.m4s'),
    `${origin.url}/def/media/chunk-0.m4s?token=s3cr3t`,
  );
  assert.ok(origin.requests.includes('/def/media/v0.m3u8?token=s3cr3t'));
});

test('EXT-X-GAP segments are listed as gaps, not as files, unless named without a gap too', async (t) => {
  // Prepare
  const routes = {
    '/g/index.m3u8': playlist(
      '#EXT-X-TARGETDURATION:4',
      '#EXTINF:4,',
      's0.ts',
      '#EXT-X-GAP',
      '#EXTINF:4,',
      'missing.ts',
      '#EXTINF:4,',
      's2.ts',
      '#EXT-X-GAP',
      '#EXTINF:4,',
      's0.ts',
      '#EXT-X-ENDLIST',
    ),
  };

  // Act
  const { result, keys } = await walk(t, routes, '/g/index.m3u8');

  // Assess
  assert.deepEqual(keys, ['g/index.m3u8', 'g/s0.ts', 'g/s2.ts']);
  assert.equal(result.gaps.length, 1);
  assert.equal(result.gaps[0]!.key, 'g/missing.ts');
  assert.match(result.gaps[0]!.playlist, /\/g\/index\.m3u8$/);
});

test('interstitials: X-ASSET-URI and X-ASSET-LIST on the origin are copied, on another host reported', async (t) => {
  // Prepare
  const foreign = await startRouteOrigin({}, '127.0.0.2');
  t.after(() => foreign.close());
  const routes: Record<string, Route> = {
    '/i/index.m3u8': playlist(
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.000Z',
      '#EXT-X-DATERANGE:ID="ad1",CLASS="com.apple.hls.interstitial",START-DATE="2024-01-01T00:00:02.000Z",X-ASSET-URI="/ads/promo/master.m3u8"',
      '#EXT-X-DATERANGE:ID="ad2",CLASS="com.apple.hls.interstitial",START-DATE="2024-01-01T00:00:04.000Z",X-ASSET-LIST="/ads/list.json?session=1"',
      `#EXT-X-DATERANGE:ID="ad3",CLASS="com.apple.hls.interstitial",START-DATE="2024-01-01T00:00:06.000Z",X-ASSET-URI="${foreign.url}/ad/master.m3u8"`,
      '#EXTINF:4,',
      's0.ts',
      '#EXTINF:4,',
      's1.ts',
      '#EXT-X-ENDLIST',
    ),
    '/ads/promo/master.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'v.m3u8'),
    '/ads/promo/v.m3u8': media('p0.ts'),
    '/ads/list.json': {
      body: JSON.stringify({ ASSETS: [{ URI: 'bumper/index.m3u8', DURATION: 2 }] }),
      type: 'application/json',
    },
    '/ads/bumper/index.m3u8': media('b0.ts'),
  };

  // Act
  const { result, kinds } = await walk(t, routes, '/i/index.m3u8');

  // Assess
  assert.deepEqual(kinds, {
    'i/index.m3u8': 'playlist',
    'i/s0.ts': 'segment',
    'i/s1.ts': 'segment',
    'ads/promo/master.m3u8': 'playlist',
    'ads/list.json': 'asset-list',
    'ads/promo/v.m3u8': 'playlist',
    'ads/bumper/index.m3u8': 'playlist',
    'ads/promo/p0.ts': 'segment',
    'ads/bumper/b0.ts': 'segment',
  });
  assert.equal(result.skipped.length, 1);
  assert.match(
    result.skipped[0]!.reason,
    /interstitial on another origin \(http:\/\/127\.0\.0\.2:\d+\)/,
  );
  assert.deepEqual(foreign.requests, []);
});

test('EXT-X-CONTENT-STEERING is reported, and its server is neither fetched nor copied', async (t) => {
  // Prepare
  const routes = {
    '/cs/master.m3u8': playlist(
      '#EXT-X-CONTENT-STEERING:SERVER-URI="/steer/manifest.json?video=1",PATHWAY-ID="CDN-A"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1,PATHWAY-ID="CDN-A"',
      'a/index.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=1,PATHWAY-ID="CDN-B"',
      'b/index.m3u8',
    ),
    '/cs/a/index.m3u8': media('s0.ts'),
    '/cs/b/index.m3u8': media('s0.ts'),
  };

  // Act
  const { result, origin, keys } = await walk(t, routes, '/cs/master.m3u8');

  // Assess
  assert.deepEqual(keys, [
    'cs/master.m3u8',
    'cs/a/index.m3u8',
    'cs/a/s0.ts',
    'cs/b/index.m3u8',
    'cs/b/s0.ts',
  ]);
  assert.deepEqual(result.steering, [
    {
      serverUri: `${origin.url}/steer/manifest.json`,
      pathwayId: 'CDN-A',
      playlist: `${origin.url}/cs/master.m3u8`,
    },
  ]);
  assert.ok(!origin.requests.some((r) => r.startsWith('/steer')));
});

test('redirects: children resolve against the final URL, and the playlist is keyed by it', async (t) => {
  // Prepare
  const routes: Record<string, Route> = {
    '/r/master.m3u8': { location: '/real/master.m3u8', status: 302 },
    '/real/master.m3u8': playlist(
      '#EXT-X-STREAM-INF:BANDWIDTH=1',
      'v0/index.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=2',
      'v1.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=3',
      'also-v1.m3u8',
    ),
    '/real/v0/index.m3u8': media('s0.ts'),
    '/real/v1.m3u8': { location: '/store/v1/index.m3u8?sig=abc', status: 301 },
    '/real/also-v1.m3u8': { location: '/store/v1/index.m3u8?sig=abc', status: 307 },
    '/store/v1/index.m3u8': media('s0.ts', 's1.ts'),
  };

  // Act
  const { result, origin, kinds } = await walk(t, routes, '/r/master.m3u8');

  // Assess
  assert.deepEqual(kinds, {
    'real/master.m3u8': 'playlist',
    'real/v0/index.m3u8': 'playlist',
    'store/v1/index.m3u8': 'playlist',
    'real/v0/s0.ts': 'segment',
    'store/v1/s0.ts': 'segment',
    'store/v1/s1.ts': 'segment',
  });
  assert.equal(result.manifestKey, 'real/master.m3u8');
  const byKey = new Map(result.files.map((f) => [f.key, f.url]));
  assert.equal(
    byKey.get('real/master.m3u8'),
    `${origin.url}/r/master.m3u8`,
    'fetched again through the URL it was named by',
  );
  assert.equal(byKey.get('store/v1/index.m3u8'), `${origin.url}/real/v1.m3u8`);
});

test('../ and absolute same-origin URIs, and byte ranges of one file, which is listed once', async (t) => {
  // Prepare
  const routes: Record<string, Route> = {
    '/lib/t1/hls/master.m3u8': playlist(
      '#EXT-X-STREAM-INF:BANDWIDTH=1',
      '../media/v0.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=2',
      '/lib/t1/media/v1.m3u8?x=1',
    ),
    '/lib/t1/media/v0.m3u8': playlist(
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MAP:URI="../blobs/all.mp4",BYTERANGE="800@0"',
      '#EXTINF:4,',
      '#EXT-X-BYTERANGE:1000@800',
      '../blobs/all.mp4',
      '#EXTINF:4,',
      '#EXT-X-BYTERANGE:1000',
      '../blobs/all.mp4',
      '#EXTINF:4,',
      '#EXT-X-BYTERANGE:1000',
      './../blobs/./all.mp4',
      '#EXT-X-ENDLIST',
    ),
    // An absolute URI on the manifest's own origin.
    '/lib/t1/media/v1.m3u8': (self) => media(`${self}/lib/t1/blobs/v1.ts`),
  };

  // Act
  const { result, origin, keys } = await walk(t, routes, '/lib/t1/hls/master.m3u8');

  // Assess
  assert.deepEqual(keys, [
    'lib/t1/hls/master.m3u8',
    'lib/t1/media/v0.m3u8',
    'lib/t1/blobs/all.mp4',
    'lib/t1/media/v1.m3u8',
    'lib/t1/blobs/v1.ts',
  ]);
  const byKey = new Map(result.files.map((f) => [f.key, f.url]));
  assert.equal(byKey.get('lib/t1/blobs/v1.ts'), `${origin.url}/lib/t1/blobs/v1.ts`);
  assert.equal(byKey.get('lib/t1/media/v1.m3u8'), `${origin.url}/lib/t1/media/v1.m3u8?x=1`);
  assert.equal(result.files.filter((f) => f.key === 'lib/t1/blobs/all.mp4').length, 1);
});

test('a live playlist is copied as its current window when allowLive is set; its served preload hints with it', async (t) => {
  // Prepare
  const routes = {
    '/live/index.m3u8': playlist(
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MEDIA-SEQUENCE:120',
      '#EXT-X-MAP:URI="init1.mp4"',
      '#EXTINF:4,',
      's120.ts',
      '#EXTINF:4,',
      's121.ts',
      '#EXT-X-PART:DURATION=1,URI="p122.0.m4s"',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p122.1.m4s"',
      '#EXT-X-PRELOAD-HINT:TYPE=MAP,URI="init2.mp4"',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p122.2.m4s?_HLS_part=2"',
    ),
    // The origin has produced the second part and the next map already, not the third part.
    '/live/p122.1.m4s': { body: 'part', type: 'video/mp4' },
    '/live/init2.mp4': { body: 'init', type: 'video/mp4' },
  };

  // Act
  const { result, keys, kinds, origin } = await walk(t, routes, '/live/index.m3u8', {
    allowLive: true,
  });

  // Assess
  assert.deepEqual(keys, [
    'live/index.m3u8',
    'live/init1.mp4',
    'live/s120.ts',
    'live/s121.ts',
    'live/p122.0.m4s',
    'live/p122.1.m4s',
    'live/init2.mp4',
  ]);
  assert.equal(kinds['live/p122.1.m4s'], 'preload-hint');
  assert.equal(kinds['live/init2.mp4'], 'init');
  assert.deepEqual(result.live, ['live/index.m3u8']);
  // The third part is not produced yet: recorded as absent, with the reason and no query.
  assert.deepEqual(
    result.gaps.map((g) => [g.key, g.url]),
    [['live/p122.2.m4s', `${origin.url}/live/p122.2.m4s`]],
  );
  assert.match(result.gaps[0]!.absent ?? '', /HTTP 404/);
});
