import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listReferences } from '../../../consumers/crawl/walk-class.js';
import { parseAttributeList } from '../../../consumers/crawl/attributes.js';
import { CrawlError } from '../../../schemas/errors.js';

const BASE = 'https://origin.example/lib/t1/master.m3u8';
const roles = (text: string, base = BASE, o = {}) =>
  listReferences(text, base, o).references.map((r) => `${r.role}${r.gap ? '(gap)' : ''} ${r.uri}`);

test('parseAttributeList keeps commas and = inside quoted strings', () => {
  const { attrs, duplicates } = parseAttributeList(
    'BANDWIDTH=1,CODECS="avc1.4d401f,mp4a.40.2", URI="a=b,c.m3u8",RESOLUTION=1x1,URI="again"',
  );
  assert.equal(attrs.get('CODECS')?.value, 'avc1.4d401f,mp4a.40.2');
  assert.equal(attrs.get('URI')?.value, 'a=b,c.m3u8');
  assert.equal(attrs.get('URI')?.quoted, true);
  assert.equal(attrs.get('RESOLUTION')?.value, '1x1');
  assert.deepEqual(duplicates, ['URI']);
});

test('every URI-bearing tag of a multivariant playlist, in playlist order', () => {
  const text = [
    '\uFEFF#EXTM3U',
    '#EXT-X-CONTENT-STEERING:SERVER-URI="steer.json",PATHWAY-ID="A"',
    '#EXT-X-SESSION-DATA:DATA-ID="a",VALUE="inline"',
    '#EXT-X-SESSION-DATA:DATA-ID="b",URI="meta.json"',
    '#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://k",KEYFORMAT="com.apple.streamingkeydelivery"',
    '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="en",INSTREAM-ID="CC1"',
    '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="fr",INSTREAM-ID="CC2",URI="bogus.m3u8"',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/en"',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/en-51"',
    '#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="v",NAME="angle2"',
    '',
    '#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1,mp4a",AUDIO="a"',
    '# a comment between the tag and its URI',
    '',
    '  v0/index.m3u8  ',
    '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI="v0/iframes.m3u8"',
    '#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=1,URI="images/index.m3u8"',
    '#EXT-X-VENDOR-THING:FOO=1,X-BACKUP-URI="backup/x.m3u8"',
  ].join('\r\n');
  const scan = listReferences(text, BASE);
  assert.equal(scan.type, 'multivariant');
  assert.deepEqual(
    scan.references.map((r) => `${r.role} ${r.uri}${r.detail ? ` [${r.detail}]` : ''}`),
    [
      'content-steering steer.json [A]',
      'session-data meta.json',
      'session-key skd://k [com.apple.streamingkeydelivery]',
      'unknown bogus.m3u8 [CLOSED-CAPTIONS]',
      'rendition audio/en [AUDIO]',
      'rendition audio/en-51 [AUDIO]',
      'variant v0/index.m3u8',
      'i-frame-playlist v0/iframes.m3u8',
      'image-playlist images/index.m3u8',
      'unknown backup/x.m3u8 [X-BACKUP-URI]',
    ],
  );
  assert.deepEqual(
    scan.references.map((r) => r.line),
    [2, 4, 5, 7, 8, 9, 15, 16, 17, 18],
  );
  assert.equal(scan.references[6]!.url, 'https://origin.example/lib/t1/v0/index.m3u8');
});

test('every URI-bearing tag of a media playlist: several keys per segment, map changes, gaps, parts, hints, interstitials', () => {
  const text = [
    '#EXTM3U',
    '#EXT-X-TARGETDURATION:4',
    '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://a",KEYFORMAT="com.apple.streamingkeydelivery"',
    '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,AAAA",KEYFORMAT="urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"',
    '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k.key",KEYFORMAT="identity"',
    '#EXT-X-MAP:URI="init1.mp4"',
    '#EXTINF:4,',
    's0.m4s',
    '#EXT-X-GAP',
    '#EXTINF:4,',
    's1.m4s',
    '#EXT-X-KEY:METHOD=NONE',
    '#EXT-X-DISCONTINUITY',
    '#EXT-X-MAP:URI="init2.mp4"',
    '#EXT-X-DATERANGE:ID="i",CLASS="com.apple.hls.interstitial",START-DATE="2024-01-01T00:00:00Z",X-ASSET-URI="ad/master.m3u8",X-ASSET-LIST="ad/list.json"',
    '#EXTINF:4,',
    's2.m4s',
    '#EXT-X-PART:DURATION=1,URI="p3.0.m4s"',
    '#EXT-X-PART:DURATION=1,URI="p3.1.m4s",GAP=YES',
    '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p3.2.m4s"',
    '#EXT-X-RENDITION-REPORT:URI="../v1/index.m3u8",LAST-MSN=2',
    '#EXT-X-ENDLIST',
  ].join('\n');
  const scan = listReferences(text, 'https://origin.example/lib/t1/v0/index.m3u8');
  assert.equal(scan.type, 'media');
  assert.equal(scan.endList, true);
  assert.deepEqual(
    scan.references.map((r) => `${r.role}${r.gap ? '(gap)' : ''} ${r.uri}`),
    [
      'key skd://a',
      'key data:text/plain;base64,AAAA',
      'key k.key',
      'init init1.mp4',
      'segment s0.m4s',
      'segment(gap) s1.m4s',
      'init init2.mp4',
      'interstitial-asset ad/master.m3u8',
      'asset-list ad/list.json',
      'segment s2.m4s',
      'part p3.0.m4s',
      'part(gap) p3.1.m4s',
      'preload-hint p3.2.m4s',
      'rendition-report ../v1/index.m3u8',
    ],
  );
});

test('EXT-X-DEFINE: all occurrences in URI lines and quoted attributes; QUERYPARAM from the requested URL; IMPORT', () => {
  const master = [
    '#EXTM3U',
    '#EXT-X-DEFINE:NAME="d",VALUE="x"',
    '#EXT-X-DEFINE:QUERYPARAM="tok"',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="n",URI="{$d}/{$d}/{$d}.m3u8"',
    '#EXT-X-STREAM-INF:BANDWIDTH=1',
    '{$d}-{$d}.m3u8?t={$tok}',
  ].join('\n');
  const scan = listReferences(master, 'https://origin.example/final/master.m3u8', {
    requestUrl: 'https://origin.example/master.m3u8?tok=a%20b',
  });
  assert.deepEqual(
    scan.references.map((r) => r.uri),
    ['x/x/x.m3u8', 'x-x.m3u8?t=a b'],
  );
  assert.deepEqual(
    [...scan.definitions],
    [
      ['d', 'x'],
      ['tok', 'a b'],
    ],
  );

  const child = listReferences(
    [
      '#EXTM3U',
      '#EXT-X-DEFINE:IMPORT="tok"',
      '#EXT-X-TARGETDURATION:1',
      '#EXTINF:1,',
      's.ts?{$tok}',
      '#EXT-X-ENDLIST',
    ].join('\n'),
    'https://origin.example/v.m3u8',
    { imports: scan.definitions },
  );
  assert.deepEqual(
    child.references.map((r) => r.uri),
    ['s.ts?a b'],
  );

  // m3u8-parser replaces only the first occurrence; the RFC says every one.
  assert.throws(
    () =>
      listReferences(
        '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{$late}.ts\n#EXT-X-DEFINE:NAME="late",VALUE="v"\n',
        BASE,
      ),
    /\{\$late\} is used but no EXT-X-DEFINE before it defines late/,
  );
});

test('variable errors name the variable but never its value', () => {
  const text = '#EXTM3U\n#EXT-X-DEFINE:QUERYPARAM="tok"\n#EXT-X-DEFINE:QUERYPARAM="tok"\n';
  assert.throws(
    () => listReferences(text, 'https://o/m.m3u8?tok=SECRET'),
    (err: unknown) => {
      assert.ok(err instanceof CrawlError);
      assert.match(err.message, /defines tok twice/);
      assert.doesNotMatch(err.message, /SECRET/);
      return true;
    },
  );
  assert.throws(
    () => listReferences('#EXTM3U\n#EXT-X-DEFINE:NAME="a",IMPORT="b",VALUE="c"\n', BASE),
    /exactly one of NAME, IMPORT or QUERYPARAM/,
  );
  assert.throws(
    () => listReferences('#EXTM3U\n#EXT-X-DEFINE:NAME="a b",VALUE="c"\n', BASE),
    /not a valid variable name/,
  );
  assert.throws(
    () => listReferences('#EXTM3U\n#EXT-X-DEFINE:NAME="a"\n', BASE),
    /NAME=a has no VALUE/,
  );
});

test('a reference that is only a query replaces the base query (RFC 3986); a fragment stays on url for the walk to drop', () => {
  const scan = listReferences(
    '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n?part=2\n#EXTINF:1,\nseg.ts#t=1\n#EXT-X-ENDLIST\n',
    'https://o/a/v.m3u8?x=1',
  );
  assert.deepEqual(
    scan.references.map((r) => r.url),
    ['https://o/a/v.m3u8?part=2', 'https://o/a/seg.ts#t=1'],
  );
});

test('EXT-X-GAP marks only the next segment; EXT-X-SKIP marks a delta update; no ENDLIST is live', () => {
  assert.deepEqual(roles('#EXTM3U\n#EXT-X-GAP\n#EXTINF:1,\na.ts\n#EXTINF:1,\nb.ts\n'), [
    'segment(gap) a.ts',
    'segment b.ts',
  ]);
  const delta = listReferences('#EXTM3U\n#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n#EXTINF:1,\nc.ts\n', BASE);
  assert.equal(delta.deltaUpdate, true);
  assert.equal(delta.endList, false);
});

test('an unparseable URI is listed with url undefined, for the walk to refuse', () => {
  const scan = listReferences('#EXTM3U\n#EXTINF:1,\nhttp://[::1\n', BASE);
  assert.equal(scan.references[0]!.url, undefined);
});
