import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { walkClass, type WalkOptions } from '../../../consumers/crawl/walk-class.js';
import { CrawlError, SourcePermanentError, UnsafeUriError } from '../../../schemas/errors.js';
import {
  httpFetcher,
  media,
  playlist,
  startRouteOrigin,
  type Route,
  type RouteOrigin,
} from './hls-origin.js';

// The "foreign host" is another loopback address: a bug must never send traffic off the machine.
let foreign: RouteOrigin;

before(async () => {
  foreign = await startRouteOrigin({ '/x.m3u8': media('x.ts'), '/x.ts': 'x' }, '127.0.0.2');
});

after(async () => {
  await foreign.close();
});

/** Serves `routes`, walks `entry`, and returns the error it fails with (or fails the test). */
async function failure(
  t: TestContext,
  routes: Record<string, Route>,
  entry: string,
  options: Partial<WalkOptions> = {},
) {
  const origin = await startRouteOrigin(routes);
  const http = httpFetcher(options.maxPlaylistBytes ?? 64 * 1024);
  t.after(async () => {
    await http.close();
    await origin.close();
  });
  const before = foreign.requests.length;
  let error: unknown;
  try {
    await walkClass(`${origin.url}${entry}`, { fetchText: http.fetchText, ...options });
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof Error, 'the walk fails');
  assert.equal(foreign.requests.length, before, 'nothing is fetched from the foreign host');
  return { error, origin };
}

test('a URI on another host, port or scheme fails the class, naming the origin, and is never fetched', async (t) => {
  const other = await startRouteOrigin({ '/x.ts': 'x' });
  t.after(() => other.close());
  const samePort = (self: string) => self.replace('http:', 'https:');
  const cases: [string, (self: string) => string, RegExp][] = [
    [
      'variant on 127.0.0.2',
      () => playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', `${foreign.url}/x.m3u8`),
      /127\.0\.0\.2/,
    ],
    [
      'scheme-relative variant',
      () => playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', `//${new URL(foreign.url).host}/x.m3u8`),
      /127\.0\.0\.2/,
    ],
    [
      'rendition on 127.0.0.2',
      () =>
        playlist(
          `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="x",URI="${foreign.url}/x.m3u8"`,
          '#EXT-X-STREAM-INF:BANDWIDTH=1',
          'v.m3u8',
        ),
      /127\.0\.0\.2/,
    ],
    ['segment on 127.0.0.2', () => media('s0.ts', `${foreign.url}/x.ts`), /127\.0\.0\.2/],
    [
      'key on 127.0.0.2',
      () =>
        playlist(
          '#EXT-X-TARGETDURATION:4',
          `#EXT-X-KEY:METHOD=AES-128,URI="${foreign.url}/k.key"`,
          '#EXTINF:4,',
          's.ts',
          '#EXT-X-ENDLIST',
        ),
      /127\.0\.0\.2/,
    ],
    [
      'init on 127.0.0.2',
      () =>
        playlist(
          '#EXT-X-TARGETDURATION:4',
          `#EXT-X-MAP:URI="${foreign.url}/i.mp4"`,
          '#EXTINF:4,',
          's.ts',
          '#EXT-X-ENDLIST',
        ),
      /127\.0\.0\.2/,
    ],
    [
      'session data on 127.0.0.2',
      () =>
        playlist(
          `#EXT-X-SESSION-DATA:DATA-ID="d",URI="${foreign.url}/d.json"`,
          '#EXT-X-STREAM-INF:BANDWIDTH=1',
          'v.m3u8',
        ),
      /127\.0\.0\.2/,
    ],
    [
      'same host, other port',
      () => media(`${other.url}/x.ts`),
      new RegExp(`127\\.0\\.0\\.1:${new URL(other.url).port}`),
    ],
    [
      'same host and port, https',
      (self) => media(`${samePort(self)}/x.ts`),
      /https:\/\/127\.0\.0\.1/,
    ],
  ];
  for (const [name, body, reason] of cases) {
    const { error } = await failure(t, { '/t/index.m3u8': body }, '/t/index.m3u8');
    assert.ok(error instanceof UnsafeUriError, `${name}: ${String(error)}`);
    assert.match(error.message, reason, name);
    assert.match(error.message, /outside the allowed origins/, name);
  }
  assert.deepEqual(other.requests, []);
});

test('an allowed origin is fetched (the control for the foreign-host counts above)', async (t) => {
  const origin = await startRouteOrigin({
    '/t/master.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', `${foreign.url}/x.m3u8`),
  });
  const http = httpFetcher();
  t.after(async () => {
    await http.close();
    await origin.close();
  });
  const walk = await walkClass(`${origin.url}/t/master.m3u8`, {
    fetchText: http.fetchText,
    allowedOrigins: [foreign.url],
  });
  assert.deepEqual(
    walk.files.map((f) => f.key),
    ['t/master.m3u8', 'x.m3u8', 'x.ts'],
  );
  assert.ok(foreign.requests.includes('/x.m3u8'));
});

test('a redirect to another host is not followed', async (t) => {
  const { error } = await failure(
    t,
    {
      '/t/master.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'v.m3u8'),
      '/t/v.m3u8': { location: `${foreign.url}/x.m3u8`, status: 302 },
    },
    '/t/master.m3u8',
  );
  assert.ok(error instanceof UnsafeUriError);
  assert.match(
    error.message,
    /redirect to another origin \(http:\/\/127\.0\.0\.2:\d+\) not followed/,
  );
});

test('traversal in every encoding fails the class with the reason named', async (t) => {
  const cases: [string, RegExp][] = [
    ['../../../../../../etc/passwd', /climbs above the origin's root/],
    ['/../../etc/passwd', /climbs above the origin's root/],
    ['%2e%2e/%2e%2e/%2e%2e/etc/passwd', /percent-encoded dot/],
    ['%2E%2E%2F%2E%2E%2Fetc%2Fpasswd', /percent-encoded dot/],
    ['..%2f..%2f..%2fetc%2fpasswd', /percent-encoded dot, slash/],
    ['.%2e/.%2e/secret.ts', /percent-encoded dot/],
    ['..%5c..%5csecret.ts', /percent-encoded dot, slash, backslash/],
    ['..\\..\\..\\etc\\passwd', /backslash/],
    ['seg\\..\\..\\x.ts', /backslash/],
    ['%252e%252e/%252e%252e/etc/passwd', /percent-encoded/],
    ['%25252e%25252e/etc/passwd', /percent-encoded/],
    ['%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd', /overlong UTF-8/],
    ['%e0%80%ae%e0%80%ae/etc/passwd', /overlong UTF-8/],
    ['seg%00.ts', /NUL/],
    ['seg\u0000.ts', /control character/],
    ['\uff0e\uff0e/\uff0e\uff0e/etc/passwd', /normalises to a dot or slash/],
    [
      '%EF%BC%8E%EF%BC%8E/%EF%BC%8E%EF%BC%8E/etc/passwd',
      /once decoded contains .* normalises to a dot or slash/,
    ],
    ['a\uff0f..\uff0f..\uff0fx.ts', /normalises to a dot or slash/],
    ['\u2025/secret.ts', /normalises to a dot or slash/],
    ['/etc/passwd', /outside the source base \/hls\//],
    ['file:///etc/passwd', /file: URI .* is not supported/],
    ['http://user:pw@127.0.0.1/x.ts', /credentials|outside the allowed origins/],
  ];
  for (const [uri, reason] of cases) {
    const { error } = await failure(
      t,
      { '/hls/t/index.m3u8': media('ok.ts', uri) },
      '/hls/t/index.m3u8',
      { sourceBase: 'hls' },
    );
    assert.ok(error instanceof UnsafeUriError, `${JSON.stringify(uri)}: ${String(error)}`);
    assert.match(error.message, reason, JSON.stringify(uri));
    assert.doesNotMatch(error.message, /\u0000/);
  }
});

test('traversal through a variable or in a variant or key URI fails the same way', async (t) => {
  const cases: Record<string, Route>[] = [
    {
      '/hls/t/index.m3u8': playlist(
        '#EXT-X-DEFINE:NAME="up",VALUE="../../../../"',
        '#EXT-X-TARGETDURATION:4',
        '#EXTINF:4,',
        '{$up}etc/passwd',
        '#EXT-X-ENDLIST',
      ),
    },
    { '/hls/t/index.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', '..%2f..%2fsecret.m3u8') },
    {
      '/hls/t/index.m3u8': playlist(
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-KEY:METHOD=AES-128,URI="..\\..\\k.key"',
        '#EXTINF:4,',
        's.ts',
        '#EXT-X-ENDLIST',
      ),
    },
  ];
  for (const routes of cases) {
    const { error, origin } = await failure(t, routes, '/hls/t/index.m3u8', { sourceBase: 'hls' });
    assert.ok(error instanceof UnsafeUriError, String(error));
    assert.deepEqual(
      origin.requests,
      ['/hls/t/index.m3u8'],
      'nothing but the playlist itself was fetched',
    );
  }
});

test('a playlist cycle fails the class, naming the chain', async (t) => {
  const self = await failure(
    t,
    { '/c/master.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'master.m3u8') },
    '/c/master.m3u8',
  );
  assert.ok(self.error instanceof CrawlError);
  assert.match(self.error.message, /playlist cycle: \/c\/master\.m3u8 -> \/c\/master\.m3u8/);

  const longer = await failure(
    t,
    {
      '/c/master.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'a.m3u8?token=1'),
      '/c/a.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'b.m3u8'),
      '/c/b.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'a.m3u8?token=2'),
    },
    '/c/master.m3u8',
  );
  assert.match(
    String(longer.error),
    /playlist cycle: \/c\/a\.m3u8 -> \/c\/b\.m3u8 -> \/c\/a\.m3u8/,
  );
  assert.doesNotMatch(String(longer.error), /token/);

  // Through a redirect: v.m3u8 answers with the master itself.
  const redirected = await failure(
    t,
    {
      '/c/master.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'v.m3u8'),
      '/c/v.m3u8': { location: '/c/master.m3u8', status: 302 },
    },
    '/c/master.m3u8',
  );
  assert.match(String(redirected.error), /playlist cycle: \/c\/master\.m3u8 -> \/c\/master\.m3u8/);

  // Through an interstitial asset that names the title's own media playlist.
  const interstitial = await failure(
    t,
    {
      '/c/index.m3u8': playlist(
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-DATERANGE:ID="a",CLASS="com.apple.hls.interstitial",START-DATE="2024-01-01T00:00:00Z",X-ASSET-URI="index.m3u8"',
        '#EXTINF:4,',
        's.ts',
        '#EXT-X-ENDLIST',
      ),
    },
    '/c/index.m3u8',
  );
  assert.match(String(interstitial.error), /playlist cycle/);
});

test('a playlist over the size limit fails the class, with or without Content-Length', async (t) => {
  const huge = media(...Array.from({ length: 20_000 }, (_, i) => `segment-${i}.ts`));
  for (const route of [huge, { body: huge, chunked: true }]) {
    const { error } = await failure(t, { '/h/index.m3u8': route }, '/h/index.m3u8', {
      maxPlaylistBytes: 64 * 1024,
    });
    assert.ok(error instanceof CrawlError, String(error));
    assert.match(error.message, /larger than the limit of 65536 bytes/);
  }
  // The walk checks too, whatever fetcher it is given.
  const origin = await startRouteOrigin({ '/h/index.m3u8': media('a.ts') });
  const http = httpFetcher();
  t.after(async () => {
    await http.close();
    await origin.close();
  });
  await assert.rejects(
    walkClass(`${origin.url}/h/index.m3u8`, { fetchText: http.fetchText, maxPlaylistBytes: 10 }),
    /larger than the limit of 10 bytes \(maxPlaylistBytes\)/,
  );
});

test('garbage that is not HLS fails the class, naming what came back', async (t) => {
  const html = await failure(
    t,
    {
      '/g/master.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'v.m3u8'),
      '/g/v.m3u8': { body: '<html><body>Welcome! Please log in</body></html>', type: 'text/html' },
    },
    '/g/master.m3u8',
  );
  assert.ok(html.error instanceof CrawlError);
  assert.match(
    html.error.message,
    /\/g\/v\.m3u8 is not an HLS playlist: it does not begin with #EXTM3U; Content-Type text\/html/,
  );

  const binary = await failure(
    t,
    { '/g/index.m3u8': { body: '\u0000\u0001\u0002garbage\u00ff', type: 'video/mp2t' } },
    '/g/index.m3u8',
  );
  assert.match(String(binary.error), /not an HLS playlist/);

  const lookalike = await failure(
    t,
    { '/g/index.m3u8': '#EXTM3UX\n#EXTINF:4,\na.ts\n' },
    '/g/index.m3u8',
  );
  assert.match(String(lookalike.error), /not an HLS playlist/);

  const missing = await failure(
    t,
    { '/g/master.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'gone.m3u8') },
    '/g/master.m3u8',
  );
  assert.ok(missing.error instanceof SourcePermanentError);
  assert.match(missing.error.message, /\/g\/gone\.m3u8: HTTP 404/);

  const badList = await failure(
    t,
    {
      '/g/index.m3u8': playlist(
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-DATERANGE:ID="a",CLASS="com.apple.hls.interstitial",START-DATE="2024-01-01T00:00:00Z",X-ASSET-LIST="list.json"',
        '#EXTINF:4,',
        's.ts',
        '#EXT-X-ENDLIST',
      ),
      '/g/list.json': { body: '<html>', type: 'text/html' },
    },
    '/g/index.m3u8',
  );
  assert.match(String(badList.error), /interstitial asset list .*\/g\/list\.json is not JSON/);

  const mixed = await failure(
    t,
    { '/g/index.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'v.m3u8', '#EXTINF:4,', 's.ts') },
    '/g/index.m3u8',
  );
  assert.match(String(mixed.error), /a media segment in a multivariant playlist/);
});

test('a redirect loop fails the class', async (t) => {
  const loop = await failure(
    t,
    { '/l/index.m3u8': { location: '/l/index.m3u8', status: 302 } },
    '/l/index.m3u8',
  );
  assert.ok(loop.error instanceof SourcePermanentError);
  assert.match(loop.error.message, /more than 5 redirects/);

  const pingPong = await failure(
    t,
    {
      '/l/master.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'a.m3u8'),
      '/l/a.m3u8': { location: '/l/b.m3u8', status: 301 },
      '/l/b.m3u8': { location: '/l/a.m3u8', status: 307 },
    },
    '/l/master.m3u8',
  );
  assert.match(String(pingPong.error), /more than 5 redirects/);
});

test('a live playlist (no EXT-X-ENDLIST) fails the class unless allowLive', async (t) => {
  const live = await failure(
    t,
    {
      '/lv/master.m3u8': playlist('#EXT-X-STREAM-INF:BANDWIDTH=1', 'v.m3u8'),
      '/lv/v.m3u8': playlist(
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-MEDIA-SEQUENCE:7',
        '#EXTINF:4,',
        's7.ts',
      ),
    },
    '/lv/master.m3u8',
  );
  assert.ok(live.error instanceof CrawlError);
  assert.match(
    live.error.message,
    /\/lv\/v\.m3u8 is a live playlist \(no EXT-X-ENDLIST\).*allowLive/,
  );

  const event = await failure(
    t,
    {
      '/lv/e.m3u8': playlist(
        '#EXT-X-PLAYLIST-TYPE:EVENT',
        '#EXT-X-TARGETDURATION:4',
        '#EXTINF:4,',
        's0.ts',
      ),
    },
    '/lv/e.m3u8',
  );
  assert.match(String(event.error), /live playlist/);

  const delta = await failure(
    t,
    {
      '/lv/d.m3u8': playlist(
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-SKIP:SKIPPED-SEGMENTS=3',
        '#EXTINF:4,',
        's3.ts',
        '#EXT-X-ENDLIST',
      ),
    },
    '/lv/d.m3u8',
  );
  assert.match(String(delta.error), /delta update \(EXT-X-SKIP\)/);

  // Refused for a live copy too: only the full playlist names every segment.
  const liveDelta = await failure(
    t,
    {
      '/lv/d.m3u8': playlist(
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=24',
        '#EXT-X-SKIP:SKIPPED-SEGMENTS=3',
        '#EXTINF:4,',
        's3.ts',
      ),
    },
    '/lv/d.m3u8?_HLS_skip=YES',
    { allowLive: true },
  );
  assert.match(
    String(liveDelta.error),
    /delta update \(EXT-X-SKIP\): it leaves segments out, even for a live copy; give colony the full playlist \(a URL without _HLS_skip/,
  );
});

test('URLs of one destination key: media is one file with alsoAt, different playlists fail naming paths but no query', async (t) => {
  const origin = await startRouteOrigin({
    '/k/master.m3u8': playlist(
      '#EXT-X-STREAM-INF:BANDWIDTH=1',
      'a.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=2',
      'b.m3u8',
    ),
    '/k/a.m3u8': media('key.php?r=52', 'a.ts'),
    '/k/b.m3u8': media('key.php?r=53', 'a.ts', 'key.php?r=52'),
  });
  const http = httpFetcher();
  t.after(async () => {
    await http.close();
    await origin.close();
  });
  const walked = await walkClass(`${origin.url}/k/master.m3u8`, { fetchText: http.fetchText });
  const key = walked.files.filter((f) => f.key === 'k/key.php');
  assert.deepEqual(
    key.map((f) => [f.url, f.alsoAt]),
    [[`${origin.url}/k/key.php?r=52`, [`${origin.url}/k/key.php?r=53`]]],
  );
  assert.equal(walked.files.find((f) => f.key === 'k/a.ts')?.alsoAt, undefined);

  const { error } = await failure(
    t,
    {
      '/k/master.m3u8': playlist(
        '#EXT-X-STREAM-INF:BANDWIDTH=1',
        'v.m3u8?r=52',
        '#EXT-X-STREAM-INF:BANDWIDTH=2',
        'v.m3u8?r=53',
      ),
      '/k/v.m3u8': (_self, query) => media(`${query.slice(3)}.ts`),
    },
    '/k/master.m3u8',
  );
  assert.ok(error instanceof CrawlError);
  assert.match(
    error.message,
    /two URLs of the destination key "k\/v\.m3u8" serve different playlists: \/k\/v\.m3u8\?… and \/k\/v\.m3u8\?…/,
  );
  assert.doesNotMatch(error.message, /r=5/);

  const named = await failure(t, { '/k/index.m3u8': media('index.m3u8') }, '/k/index.m3u8');
  assert.match(
    String(named.error),
    /"k\/index\.m3u8" is named both as a playlist and as a segment/,
  );
});

test('malformed playlists fail the class with the RFC reason', async (t) => {
  const cases: [string, RegExp][] = [
    [
      playlist('#EXT-X-TARGETDURATION:4', '#EXTINF:4,', '{$nope}.ts', '#EXT-X-ENDLIST'),
      /\{\$nope\} is used but no EXT-X-DEFINE before it defines nope/,
    ],
    [
      playlist(
        '#EXT-X-DEFINE:NAME="a",VALUE="1"',
        '#EXT-X-DEFINE:NAME="a",VALUE="2"',
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-ENDLIST',
      ),
      /defines a twice/,
    ],
    [
      playlist('#EXT-X-DEFINE:QUERYPARAM="token"', '#EXT-X-TARGETDURATION:4', '#EXT-X-ENDLIST'),
      /no query parameter token/,
    ],
    [
      playlist('#EXT-X-DEFINE:IMPORT="x"', '#EXT-X-TARGETDURATION:4', '#EXT-X-ENDLIST'),
      /IMPORT=x: no multivariant playlist above this one defines x/,
    ],
    [
      playlist(
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-MAP:URI="a.mp4",URI="b.mp4"',
        '#EXTINF:4,',
        's.ts',
        '#EXT-X-ENDLIST',
      ),
      /EXT-X-MAP gives URI more than once/,
    ],
    [
      playlist(
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-KEY:METHOD=AES-128,URI=""',
        '#EXTINF:4,',
        's.ts',
        '#EXT-X-ENDLIST',
      ),
      /EXT-X-KEY has an empty URI/,
    ],
    [playlist('#EXT-X-STREAM-INF:BANDWIDTH=1'), /EXT-X-STREAM-INF is not followed by a URI line/],
    [media('skd://not-a-segment'), /skd: URI .* is not supported/],
    [
      media('http://[::1/x.ts'),
      /unparseable URI "http:\/\/\[::1\/x\.ts" in URI line at .*\/m\/index\.m3u8 line 4/,
    ],
    [
      playlist(
        '#EXT-X-STREAM-INF:BANDWIDTH=1',
        'data:application/vnd.apple.mpegurl;base64,I0VYVE0zVQ==',
      ),
      /inline data: playlist .* is not supported/,
    ],
  ];
  for (const [body, reason] of cases) {
    const { error } = await failure(t, { '/m/index.m3u8': body }, '/m/index.m3u8');
    assert.match(String(error), reason);
  }
  const importInMaster = await failure(
    t,
    {
      '/m/master.m3u8': playlist(
        '#EXT-X-DEFINE:IMPORT="x"',
        '#EXT-X-STREAM-INF:BANDWIDTH=1',
        'v.m3u8',
      ),
    },
    '/m/master.m3u8',
  );
  assert.match(String(importInMaster.error), /no multivariant playlist above this one defines x/);
});

test('more playlists than maxPlaylists fail the class', async (t) => {
  const { error } = await failure(
    t,
    {
      '/p/master.m3u8': playlist(
        ...['a', 'b', 'c'].flatMap((v) => ['#EXT-X-STREAM-INF:BANDWIDTH=1', `${v}.m3u8`]),
      ),
    },
    '/p/master.m3u8',
    { maxPlaylists: 3 },
  );
  assert.match(String(error), /more than 3 playlists in one class/);
});

test('crawl limits fail the class with the reason: files, crawled bytes, expanded URI length, reports', async (t) => {
  const define = `#EXT-X-DEFINE:NAME="p",VALUE="${'a'.repeat(900)}"`;
  const cases: [string, Record<string, Route>, Partial<WalkOptions>, RegExp][] = [
    [
      'files',
      { '/l/i.m3u8': media('a.ts', 'b.ts', 'c.ts', 'd.ts') },
      { maxFiles: 4 },
      /more than 4 files in one class \(COLONY_MAX_FILES_PER_CLASS\)/,
    ],
    [
      'URIs not copied',
      {
        '/l/i.m3u8': playlist(
          '#EXT-X-TARGETDURATION:4',
          ...Array.from({ length: 5 }, (_, i) => `#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://k${i}"`),
          '#EXTINF:4,',
          'a.ts',
          '#EXT-X-ENDLIST',
        ),
      },
      { maxFiles: 4 },
      /more than 4 URIs not copied in one class \(COLONY_MAX_FILES_PER_CLASS\)/,
    ],
    [
      'crawled bytes across playlists',
      {
        '/l/m.m3u8': playlist(
          '#EXT-X-STREAM-INF:BANDWIDTH=1',
          'a.m3u8',
          '#EXT-X-STREAM-INF:BANDWIDTH=2',
          'b.m3u8',
        ),
        '/l/a.m3u8': media(...Array.from({ length: 40 }, (_, i) => `s${i}.ts`)),
        '/l/b.m3u8': media(...Array.from({ length: 40 }, (_, i) => `s${i}.ts`)),
      },
      { maxCrawlBytes: 1000 },
      /more than 1000 bytes with their variables substituted, at .*\/l\/b\.m3u8 \(COLONY_MAX_CRAWL_BYTES\)/,
    ],
    [
      'bytes added by variables',
      {
        '/l/i.m3u8': playlist(
          '#EXT-X-TARGETDURATION:4',
          define,
          ...Array.from({ length: 20 }, (_, i) => `#EXTINF:4,\n{$p}${i}.ts`),
          '#EXT-X-ENDLIST',
        ),
      },
      { maxCrawlBytes: 10_000 },
      /more than 10000 bytes with their variables substituted, at .*\/l\/i\.m3u8 line 2\d \(COLONY_MAX_CRAWL_BYTES\)/,
    ],
    [
      'one URI of many variable references',
      {
        '/l/i.m3u8': playlist(
          '#EXT-X-TARGETDURATION:4',
          define,
          '#EXTINF:4,',
          `${'{$p}'.repeat(100_000)}.ts`,
          '#EXT-X-ENDLIST',
        ),
      },
      { maxPlaylistBytes: 1 << 20 },
      /line 5: a URI longer than 8192 characters after variable substitution \(COLONY_MAX_URI_LENGTH\)/,
    ],
    [
      'one long URI attribute',
      {
        '/l/i.m3u8': playlist(
          '#EXT-X-TARGETDURATION:4',
          `#EXT-X-MAP:URI="${'m'.repeat(300)}.mp4"`,
          '#EXTINF:4,',
          'a.ts',
          '#EXT-X-ENDLIST',
        ),
      },
      { maxUriLength: 256 },
      /line 3: EXT-X-MAP names a URI of \d{3} characters \(after variable substitution and resolution\), over the limit of 256 \(COLONY_MAX_URI_LENGTH\)/,
    ],
    [
      'a relative URI within the limit that resolves past it',
      { '/l/i.m3u8': media(`${'s'.repeat(240)}.ts`) },
      { maxUriLength: 256 },
      /line 4: URI line names a URI of 2\d\d characters \(after variable substitution and resolution\)/,
    ],
  ];
  for (const [name, routes, options, reason] of cases) {
    const entry = Object.keys(routes)[0]!;
    const { error } = await failure(t, routes, entry, options);
    assert.ok(error instanceof CrawlError, `${name}: ${String(error)}`);
    assert.match(error.message, reason, name);
  }
});

test('keys one destination cannot hold apart fail the class, in either order', async (t) => {
  const cases: [string[], RegExp][] = [
    [['x/a.ts', 'x'], /"k\/x" is a file, and "k\/x\/a\.ts" needs it to be a folder/],
    [
      ['x', 'y.ts', 'x/deep/a.ts'],
      /"k\/x" is a file, and "k\/x\/deep\/a\.ts" needs it to be a folder/,
    ],
    [['d/e/f.ts', 'd/g.ts', 'd/e'], /"k\/d\/e" is a file, and "k\/d\/e\/f\.ts" needs it/],
    [
      ['cafe%CC%81.ts', 'caf%C3%A9.ts'],
      /"k\/cafe\\u0301\.ts" and "k\/caf\\u00e9\.ts" are one name/,
    ],
  ];
  for (const [uris, reason] of cases) {
    const { error } = await failure(t, { '/k/i.m3u8': media(...uris) }, '/k/i.m3u8');
    assert.ok(error instanceof CrawlError, String(error));
    assert.match(error.message, reason);
  }
  // Folders and files that merely share a start are fine, and so is one NFD name alone.
  const origin = await startRouteOrigin({
    '/k/i.m3u8': media('x.ts', 'x/a.ts', 'xy/a.ts', 'cafe%CC%81.ts', 'd/e.ts', 'd/e/f.ts'),
  });
  const http = httpFetcher();
  t.after(async () => {
    await http.close();
    await origin.close();
  });
  const walked = await walkClass(`${origin.url}/k/i.m3u8`, { fetchText: http.fetchText });
  assert.equal(walked.files.length, 7);
});
