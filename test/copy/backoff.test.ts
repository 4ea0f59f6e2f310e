import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import {
  COPY_BACKOFF,
  backoffDelay,
  parseRetryAfter,
  retryAfterOf,
  sleep,
} from '../../copy/backoff.js';
import { copyFile } from '../../copy/copy-file.js';
import type { Destination } from '../../copy/destinations/destination.js';
import { HttpSource } from '../../copy/sources/http-source.js';
import { SourceTransientError } from '../../schemas/errors.js';

test('backoff grows exponentially with full jitter and stays under its cap', () => {
  const policy = { baseMs: 100, maxMs: 1000 };
  // random() = 1 gives the ceiling: 100, 200, 400, 800, then the cap.
  assert.deepEqual(
    [1, 2, 3, 4, 5, 9].map((a) => backoffDelay(a, policy, undefined, () => 1)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(
    backoffDelay(3, policy, undefined, () => 0),
    0,
  );
  assert.equal(
    backoffDelay(3, policy, undefined, () => 0.5),
    200,
  );
  assert.equal(backoffDelay(4, { ...policy, jitter: 'none' }), 800);
  // A huge attempt number neither overflows nor exceeds the cap.
  assert.equal(
    backoffDelay(5000, policy, undefined, () => 1),
    1000,
  );
});

test('a Retry-After longer than the computed wait wins, up to its own cap', () => {
  const policy = { baseMs: 100, maxMs: 1000, maxRetryAfterMs: 5000 };
  assert.equal(
    backoffDelay(1, policy, 3000, () => 1),
    3000,
  );
  assert.equal(
    backoffDelay(1, policy, 60_000, () => 1),
    5000,
  );
  // Shorter than what backoff says: backoff stands.
  assert.equal(
    backoffDelay(4, policy, 10, () => 1),
    800,
  );
  assert.equal(backoffDelay(1, { baseMs: 100, maxMs: 1000 }, 60_000), 1000);
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Tue, 01 Dec 2026 12:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Tue, 01 Dec 2026 11:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
  assert.equal(retryAfterOf(new SourceTransientError('x', undefined, 1500)), 1500);
  assert.equal(retryAfterOf(new Error('x')), undefined);
});

test('sleep ends early with the reason when its signal aborts', async () => {
  const stop = new AbortController();
  const waiting = sleep(60_000, stop.signal);
  stop.abort(new Error('stopping'));
  await assert.rejects(waiting, /stopping/);
  await assert.rejects(sleep(10, stop.signal), /stopping/);
});

test('a 429 with Retry-After makes the copy wait that long before its next attempt', async () => {
  const seen: number[] = [];
  const server = createServer((req, res) => {
    seen.push(Date.now());
    if (seen.length === 1) {
      res.writeHead(429, { 'retry-after': '1', 'content-length': 0 }).end();
      return;
    }
    res.writeHead(200, { 'content-length': 5 }).end('hello');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const source = new HttpSource({ timeoutMs: 5000 });
  const written: string[] = [];
  const dest = {
    async put(key: string, body: NodeJS.ReadableStream) {
      let text = '';
      for await (const chunk of body) text += String(chunk);
      written.push(`${key}=${text}`);
      return { bytes: text.length, md5: '5d41402abc4b2a76b9719d911017c592' };
    },
  } as unknown as Destination;
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/a.ts`;
    const outcome = await copyFile(
      { ordinal: 0, url, key: 'a.ts' },
      // Without Retry-After the retry would come within 10 ms.
      { source, dest, attempts: 3, timeoutMs: 5000, backoffBaseMs: 10, backoffMaxMs: 10 },
    );
    assert.equal(outcome.status, 'copied');
    assert.equal(outcome.attempts, 2);
    assert.deepEqual(written, ['a.ts=hello']);
    // A lower bound only: a slow machine can make the gap longer, never shorter.
    assert.ok(seen[1]! - seen[0]! >= 950, `retried after ${seen[1]! - seen[0]!} ms`);
    assert.ok(COPY_BACKOFF.maxRetryAfterMs! >= 1000);
  } finally {
    await source.close();
    await new Promise((r) => server.close(r));
  }
});
