import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { HttpSource } from '../../copy/sources/http-source.js';
import { ErrorCode } from '../../schemas/errors.js';

test('an HTML page served with 200 for a segment is an error, never the segment', async (t) => {
  // Prepare: a CDN that answers a login page for segments, and real text for a .html file.
  const server = createServer((req, res) => {
    const body = '<html><body>Please sign in</body></html>';
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': body.length,
    });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const source = new HttpSource({ timeoutMs: 2000 });
  t.after(() => source.close());

  // Act / Assess
  for (const path of [
    '/v0/seg1.ts',
    '/v0/init.mp4',
    '/v0/part.m4s',
    '/keys/k1.key',
    '/subs/s0.vtt',
  ]) {
    await assert.rejects(
      source.open(`${base}${path}?token=secret`),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, ErrorCode.SourceTransient);
        assert.match(err.message, /HTML page for a media file/);
        assert.doesNotMatch(err.message, /secret/);
        return true;
      },
    );
  }
  const page = await source.open(`${base}/about.html`);
  page.body.resume();
  assert.equal(page.size, '<html><body>Please sign in</body></html>'.length);
});
