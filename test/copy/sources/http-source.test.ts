import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FileDestination } from '../../../copy/destinations/file-destination.js';
import { HttpSource } from '../../../copy/sources/http-source.js';
import {
  CrawlError,
  SourcePermanentError,
  SourceTransientError,
  UnsafeUriError,
} from '../../../schemas/errors.js';

const segment = randomBytes(200_003);
const playlist = '#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\nseg.ts\n#EXT-X-ENDLIST\n';
const SECRET = 'X-Amz-Signature=topsecret';

let server: Server;
let origin: string;
let port: number;

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    switch (url.pathname) {
      case '/seg.ts':
        res.writeHead(200, { 'content-length': segment.length, 'content-type': 'video/mp2t' });
        return res.end(segment);
      case '/redirect-seg.ts':
        res.writeHead(301, { location: '/seg.ts' });
        return res.end();
      case '/missing.ts':
        res.writeHead(404);
        return res.end('not found');
      case '/forbidden.ts':
        res.writeHead(403);
        return res.end();
      case '/busy.ts':
        res.writeHead(503);
        return res.end('try later');
      case '/throttled.ts':
        res.writeHead(429);
        return res.end();
      case '/truncated.ts':
        // Announce more than we send, then cut the connection, as a dying origin would.
        res.writeHead(200, { 'content-length': 100_000 });
        res.write(segment.subarray(0, 50_000), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      case '/slow.ts':
        setTimeout(() => {
          if (!res.destroyed) res.end('late');
        }, 2000);
        return;
      case '/master.m3u8':
        res.writeHead(302, { location: `/media/index.m3u8?token=abc` });
        return res.end();
      case '/media/index.m3u8':
        res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
        return res.end(playlist);
      case '/big.m3u8':
        res.writeHead(200, { 'content-length': 5000 });
        return res.end('#'.repeat(5000));
      case '/big-chunked.m3u8':
        // No Content-Length: the limit must hold while reading.
        res.writeHead(200);
        for (let i = 0; i < 10; i++) res.write('#'.repeat(1000));
        return res.end();
      case '/loop.m3u8':
        res.writeHead(302, { location: '/loop.m3u8' });
        return res.end();
      case '/offsite.ts':
        // Same machine, other origin: the host name differs.
        res.writeHead(302, { location: `http://localhost:${port}/seg.ts` });
        return res.end();
      default:
        res.writeHead(500);
        return res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function source(t: { after(fn: () => Promise<void>): void }): HttpSource {
  const http = new HttpSource({ connections: 4, timeoutMs: 5000 });
  t.after(() => http.close());
  return http;
}

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

test('open streams a segment with its size', async (t) => {
  // Prepare
  const http = source(t);

  // Act
  const opened = await http.open(`${origin}/seg.ts?${SECRET}`);
  const bytes = await readAll(opened.body);

  // Assess
  assert.equal(opened.size, segment.length);
  assert.ok(bytes.equals(segment));
  assert.equal(opened.finalUrl, `${origin}/seg.ts?${SECRET}`);
});

test('open follows a same-origin redirect and refuses another origin', async (t) => {
  // Prepare
  const http = source(t);

  // Act
  const opened = await http.open(`${origin}/redirect-seg.ts`);
  const bytes = await readAll(opened.body);

  // Assess
  assert.equal(opened.finalUrl, `${origin}/seg.ts`);
  assert.ok(bytes.equals(segment));
  await assert.rejects(http.open(`${origin}/offsite.ts`), UnsafeUriError);
  await assert.rejects(
    http.fetchText(`${origin}/loop.m3u8`, { maxBytes: 1000 }),
    SourcePermanentError,
  );
});

test('status codes map to permanent and transient errors without the query string', async (t) => {
  // Prepare
  const http = source(t);
  const cases = [
    ['/missing.ts', SourcePermanentError, /HTTP 404/],
    ['/forbidden.ts', SourcePermanentError, /HTTP 403/],
    ['/busy.ts', SourceTransientError, /HTTP 503/],
    ['/throttled.ts', SourceTransientError, /HTTP 429/],
  ] as const;

  for (const [pathname, errorClass, pattern] of cases) {
    // Act / Assess
    await assert.rejects(http.open(`${origin}${pathname}?${SECRET}`), (err: Error) => {
      assert.ok(err instanceof errorClass, `${pathname}: ${err.name}`);
      assert.match(err.message, pattern);
      assert.ok(err.message.includes(pathname));
      assert.ok(!err.message.includes('topsecret'), err.message);
      return true;
    });
  }
});

test('network errors and timeouts are transient', async (t) => {
  // Prepare
  const http = source(t);
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));

  // Act / Assess
  await assert.rejects(
    http.open(`http://127.0.0.1:${closedPort}/seg.ts?${SECRET}`),
    (err: Error) => {
      assert.ok(err instanceof SourceTransientError, err.name);
      assert.ok(!err.message.includes('topsecret'));
      return true;
    },
  );
  await assert.rejects(http.open(`${origin}/slow.ts`, { timeoutMs: 200 }), SourceTransientError);
});

test('a truncated body fails the stream, and the destination rejects it', async (t) => {
  // Prepare
  const http = source(t);
  const root = await mkdtemp(path.join(tmpdir(), 'colony-http-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dest = new FileDestination({ root });

  // Act: each body is consumed as soon as it is open; a body that breaks off while nobody
  // listens yet would be an uncaught error (under load the second one breaks off first).
  const direct = await http.open(`${origin}/truncated.ts?${SECRET}`);
  const read = readAll(direct.body);
  read.catch(() => {}); // asserted below; not unhandled meanwhile
  const opened = await http.open(`${origin}/truncated.ts`);
  const put = dest.put('truncated.ts', opened.body, { size: opened.size });
  put.catch(() => {});

  // Assess
  assert.equal(direct.size, 100_000);
  await assert.rejects(read, (err: Error) => {
    assert.ok(err instanceof SourceTransientError, err.name);
    assert.ok(!err.message.includes('topsecret'));
    return true;
  });
  await assert.rejects(put, SourceTransientError);
  assert.deepEqual(await readdir(root), []);
});

test('fetchText follows redirects and returns the final URL', async (t) => {
  // Prepare
  const http = source(t);

  // Act
  const fetched = await http.fetchText(`${origin}/master.m3u8`, { maxBytes: 1000 });

  // Assess
  assert.equal(fetched.text, playlist);
  assert.equal(fetched.finalUrl, `${origin}/media/index.m3u8?token=abc`);
  assert.equal(fetched.contentType, 'application/vnd.apple.mpegurl');
});

test('fetchText refuses a playlist over maxBytes, with or without Content-Length', async (t) => {
  // Prepare
  const http = source(t);

  // Act / Assess
  for (const pathname of ['/big.m3u8', '/big-chunked.m3u8']) {
    await assert.rejects(
      http.fetchText(`${origin}${pathname}`, { maxBytes: 4096 }),
      (err: Error) => {
        assert.ok(err instanceof CrawlError, err.name);
        assert.equal(err.code, 'E_CRAWL');
        assert.match(err.message, /4096 bytes/);
        return true;
      },
    );
  }
  const exact = await http.fetchText(`${origin}/big.m3u8`, { maxBytes: 5000 });
  assert.equal(exact.text.length, 5000);
});
