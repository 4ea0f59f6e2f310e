import assert from 'node:assert/strict';
import { test } from 'node:test';
import { climbsAboveRoot } from '../../../consumers/crawl/uri-policy.js';
import {
  assertSafeKey,
  assertSafeReference,
  redactQuery,
  sourceKey,
} from '../../../consumers/crawl/source-key.js';
import { UnsafeUriError } from '../../../schemas/errors.js';

test('sourceKey: the decoded path, query and fragment dropped, source base stripped', () => {
  const cases: [string, string | undefined, string][] = [
    ['http://o/hls/a/master.m3u8?token=1#t=3', undefined, 'hls/a/master.m3u8'],
    ['http://o/hls/a/master.m3u8', 'hls', 'a/master.m3u8'],
    ['http://o/hls/a/master.m3u8', '/hls/', 'a/master.m3u8'],
    ['http://o/lib/hls/a.ts', 'lib/hls', 'a.ts'],
    ['http://o/a%20b/caf%C3%A9.ts', undefined, 'a b/café.ts'],
    ['http://o/a/%2520.ts', undefined, 'a/%20.ts'],
    ['s3://bucket/a/b.ts', undefined, 'bucket/a/b.ts'],
    ['http://o/x.ts', '/', 'x.ts'],
  ];
  for (const [url, base, key] of cases) assert.equal(sourceKey(url, base), key, url);
});

test('sourceKey refuses every key that could leave the prefix or collide', () => {
  const cases: [string, RegExp][] = [
    ['http://o/a/..%2f..%2fetc/passwd', /percent-encoded slash/],
    ['http://o/a%2Fb.ts', /percent-encoded slash/],
    ['http://o/a%5c..%5cb.ts', /percent-encoded slash or backslash/],
    ['http://o/a%252fb.ts', /percent-encoded slash/],
    ['http://o/%252e%252e/secret', /percent-encoded dot/],
    ['http://o/%c0%ae%c0%ae/secret', /not valid percent-encoding/],
    ['http://o/a%00b.ts', /control character/],
    ['http://o/a%0ab.ts', /control character/],
    ['http://o/%EF%BC%8E%EF%BC%8E/secret', /normalises to a dot or slash/],
    ['http://o/a/b%EF%BC%8Fc.ts', /normalises to a dot or slash/],
    ['http://o/a//b.ts', /empty segment/],
    ['http://o/', /empty/],
    ['http://o/dir/', /empty segment/],
    ['http://o/C:/Windows/win.ini', /drive letter/],
    [`http://o/${'x'.repeat(1100)}`, /longer than 1024 bytes/],
    ['http://o/other/x.ts', /outside the source base \/hls\//],
  ];
  for (const [url, reason] of cases) {
    assert.throws(
      () => sourceKey(url, url.includes('/other/') ? 'hls' : undefined),
      (err: unknown) => {
        assert.ok(err instanceof UnsafeUriError, `${url}: ${String(err)}`);
        assert.match(err.message, reason, url);
        assert.doesNotMatch(err.message, /[\u0000-\u001f]/);
        return true;
      },
    );
  }
});

test('sourceKey never lets the URL parser turn dots into a way out', () => {
  // WHATWG URL parsing resolves `..`, `%2e%2e` and `.%2E` segments and turns `\` into `/` for
  // http(s), always stopping at the root: the key that comes out is inside the origin's tree.
  for (const url of [
    'http://o/a/../../../etc/passwd',
    'http://o/a/%2e%2e/%2E%2e/etc/passwd',
    'http://o/a\\..\\..\\etc\\passwd',
  ]) {
    assert.equal(sourceKey(url), 'etc/passwd', url);
  }
});

test('assertSafeKey uses the destination rules and names the URL without its query', () => {
  for (const key of [
    '',
    '..',
    'a/../b',
    '/abs',
    'a\\b',
    'a\u0000b',
    '%2e%2e/x',
    '\uff0e\uff0e/x',
    'a\u2025b/\u2025',
  ]) {
    assert.throws(
      () => assertSafeKey(key, 'http://o/x?sig=secret'),
      (err: unknown) => {
        assert.ok(err instanceof UnsafeUriError);
        assert.match(err.message, /destination key for http:\/\/o\/x refused/);
        assert.doesNotMatch(err.message, /secret/);
        return true;
      },
      JSON.stringify(key),
    );
  }
  assertSafeKey('a..b/...c/.init.mp4');
});

test('assertSafeReference refuses tricky spellings in the path, not in the query', () => {
  const bad = [
    '..\\x',
    'a%2ex',
    '%2E%2E/x',
    'a%2fb',
    'a%5Cb',
    'a%00',
    '%252e',
    '%25252F',
    '%c0%ae',
    '%e0%80%ae',
    'a\u0001b',
    'a\u0085b',
    '\uff0e/x',
    '\u2024x',
    'a\ufe52b',
    '%EF%BC%8F',
    'http://o/a\\b',
  ];
  for (const ref of bad) {
    assert.throws(
      () => assertSafeReference(ref, 'URI line at http://o/p.m3u8 line 1'),
      UnsafeUriError,
      JSON.stringify(ref),
    );
  }
  for (const ref of [
    '../media/seg0.ts',
    '/abs/path.ts',
    'http://o/x.ts',
    'seg.ts?exp=1%2E5&p=%2F',
    'caf%C3%A9.ts',
    'a%20b.ts',
    'dir.with.dots/x..y.ts',
  ]) {
    assertSafeReference(ref, 'here');
  }
});

test('climbsAboveRoot follows dot segments from the base directory', () => {
  const base = 'http://o/hls/t1/master.m3u8';
  assert.equal(climbsAboveRoot('../media/x.ts', base), false);
  assert.equal(climbsAboveRoot('../../x.ts', base), false);
  assert.equal(climbsAboveRoot('../../../x.ts', base), true);
  assert.equal(climbsAboveRoot('a/../../../../x.ts', base), true);
  assert.equal(climbsAboveRoot('/../x.ts', base), true);
  assert.equal(climbsAboveRoot('http://o/a/../../x.ts', base), true);
  assert.equal(climbsAboveRoot('//o/a/./b/../x.ts', base), false);
  assert.equal(climbsAboveRoot('x.ts?up=../../../..', base), false);
});

test('redactQuery drops query and fragment', () => {
  assert.equal(redactQuery('http://o/a.ts?sig=1#f'), 'http://o/a.ts');
  assert.equal(redactQuery('http://o/a.ts#f?x'), 'http://o/a.ts');
});

test('sourceKey refuses keys that a destination takes but that bite later', () => {
  const cases: [string, RegExp][] = [
    [
      'http://o/_colony/archive/p/jobs/0/1-0-2-0.ndjson.gz',
      /is under _colony\/, which colony keeps/,
    ],
    ['http://o/_COLONY/x.ts', /is under _colony\//],
    ['http://o/_colony', /is under _colony\//],
    ['http://o/a/evil%E2%80%AEst.ts', /bidirectional control character U\+202E/],
    ['http://o/a/%E2%81%A6x.ts', /bidirectional control character U\+2066/],
    ['http://o/a/.seg1.ts.0123456789abcdef.tmp', /form of a temporary file/],
    ['http://o/.m.m3u8.fedcba9876543210.tmp?x=1', /form of a temporary file/],
  ];
  for (const [url, reason] of cases) {
    assert.throws(
      () => sourceKey(url),
      (err: unknown) => {
        assert.ok(err instanceof UnsafeUriError, url);
        assert.match(err.message, reason, url);
        return true;
      },
    );
  }
  // Near misses are ordinary keys.
  for (const [url, key] of [
    ['http://o/_colonyx/a.ts', '_colonyx/a.ts'],
    ['http://o/hls/_colony/a.ts', 'hls/_colony/a.ts'],
    ['http://o/a/seg.tmp', 'a/seg.tmp'],
    ['http://o/a/.seg.ts.0123.tmp', 'a/.seg.ts.0123.tmp'],
    ['http://o/a/caf%C3%A9.ts', 'a/café.ts'],
  ]) {
    assert.equal(sourceKey(url!), key, url);
  }
});
