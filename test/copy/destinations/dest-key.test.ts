import assert from 'node:assert/strict';
import { test } from 'node:test';
import { joinDestKey } from '../../../copy/destinations/dest-key.js';
import { UnsafeUriError } from '../../../schemas/errors.js';

test('joinDestKey joins normal keys under the prefix', () => {
  // Prepare
  const cases: Array<[string, string, string]> = [
    ['', 'class-1/master.m3u8', 'class-1/master.m3u8'],
    ['videos', 'class-1/720p/seg-00001.ts', 'videos/class-1/720p/seg-00001.ts'],
    ['/videos/2024/', 'a/b.m4s', 'videos/2024/a/b.m4s'],
    ['p', 'name with spaces and %20 literal.ts', 'p/name with spaces and %20 literal.ts'],
    ['p', 'a..b/...hidden/.init.mp4', 'p/a..b/...hidden/.init.mp4'],
    ['p', 'ünïcödé/セグメント.ts', 'p/ünïcödé/セグメント.ts'],
    ['p', 'keys/key:1.key', 'p/keys/key:1.key'],
  ];

  for (const [prefix, key, expected] of cases) {
    // Act
    const joined = joinDestKey(prefix, key);

    // Assess
    assert.equal(joined, expected, `${prefix} + ${key}`);
  }
});

test('joinDestKey rejects every way out of the prefix', () => {
  // Prepare
  const unsafe = [
    '',
    '..',
    '../secret',
    'a/../../etc/passwd',
    'a/..',
    './a',
    'a/./b',
    '/etc/passwd',
    '//host/share',
    'a//b',
    'a/',
    'a\\..\\b',
    '..\\secret',
    'C:/Windows/system.ini',
    'c:evil',
    'a\u0000b.ts',
    'a/b\n.ts',
    'a\rb',
    'a\u007fb',
    'a\u0085b',
    '%2e%2e/secret',
    '%2E%2E/secret',
    'a/%2e%2e',
    '..%2fsecret',
    '..%2Fsecret',
    'a%5c..%5cb',
    'a%5C..',
    '%252e%252e/secret',
    '%252E%252e%252fsecret',
    '%25252e%25252e',
    'a%00.ts',
    '%c0%ae%c0%ae/secret',
    '%C0%AF',
    '%e0%80%ae%e0%80%ae',
    '\uff0e\uff0e/secret',
    'a/\uff0e\uff0e',
    'a\uff0fb',
    'a\uff3cb',
    '\u2025/secret',
    'x'.repeat(1025),
  ];

  for (const key of unsafe) {
    // Act / Assess
    assert.throws(() => joinDestKey('prefix', key), UnsafeUriError, JSON.stringify(key));
  }
});

test('joinDestKey also checks the prefix and the joined length', () => {
  // Prepare
  const longKey = 'k'.repeat(1020);

  // Act / Assess
  assert.throws(() => joinDestKey('../up', 'a.ts'), UnsafeUriError);
  assert.throws(() => joinDestKey('a//b', 'a.ts'), UnsafeUriError);
  assert.throws(() => joinDestKey('prefix', longKey), UnsafeUriError);
  assert.equal(joinDestKey('', longKey), longKey);
});

test('joinDestKey errors name the key without raw control characters', () => {
  // Act
  const err = (() => {
    try {
      joinDestKey('', 'a/\u0000/b');
    } catch (e) {
      return e;
    }
    return undefined;
  })();

  // Assess
  assert.ok(err instanceof UnsafeUriError);
  assert.equal(err.code, 'E_UNSAFE_URI');
  assert.equal(err.retryable, false);
  assert.match(err.message, /\\u0000/);
  assert.doesNotMatch(err.message, /\u0000/);
});
