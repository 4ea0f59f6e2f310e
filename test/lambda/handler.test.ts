import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHandler, InvalidInvocationError, type CopyHandler } from '../../lambda/handler.js';
import type { JobFile } from '../../schemas/events.js';
import type { CopyInvocationInput } from '../../schemas/lambda.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { startCountingProxy, startTestOrigin, type TestOrigin } from '../copy/test-origin.js';

const SRC = 'colony-src';
const DST = 'colony-dst';
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

let s3: TestS3;
let savedEnv: Record<string, string | undefined>;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  s3 = await startS3([SRC, DST]);
  // The handler, like the Lambda function, takes its credentials from the default chain.
  savedEnv = {};
  for (const [k, v] of Object.entries(s3.env)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
});

after(async () => {
  for (const c of cleanups.reverse()) await c();
  await s3.close();
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

function handlerFor(t: { after(fn: () => Promise<void>): void }): CopyHandler {
  const h = createHandler();
  t.after(() => h.close());
  return h;
}

async function origin(
  t: { after(fn: () => Promise<void>): void },
  files: Parameters<typeof startTestOrigin>[0],
) {
  const o = await startTestOrigin(files);
  t.after(() => o.close());
  return o;
}

const unique = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

function payload(
  files: JobFile[],
  dest: string,
  extra: Partial<CopyInvocationInput> = {},
): CopyInvocationInput {
  return {
    v: 1,
    classId: 'class-1',
    run: 1,
    dest,
    files,
    attempts: 2,
    timeoutMs: 2000,
    concurrency: 4,
    s3: { endpoint: s3.endpoint, forcePathStyle: true },
    ...extra,
  };
}

function jobs(o: TestOrigin, paths: string[]): JobFile[] {
  return paths.map((p, ordinal) => ({
    ordinal,
    url: `${o.url}${p}?token=secret`,
    key: p.slice(1),
  }));
}

test('a batch with failing files reports each file: copied, 404 failed at once, truncated failed after its attempts', async (t) => {
  // Prepare
  const seg = randomBytes(300_001);
  const playlist = Buffer.from('#EXTM3U\n#EXT-X-ENDLIST\n');
  const o = await origin(t, {
    '/c1/720p/seg-1.ts': { body: seg },
    '/c1/720p/index.m3u8': { body: playlist },
    '/c1/720p/broken.ts': { body: randomBytes(100_000), truncateTimes: 99 },
  });
  const prefix = unique('batch');
  const files = jobs(o, [
    '/c1/720p/seg-1.ts',
    '/c1/720p/index.m3u8',
    '/c1/720p/missing.ts',
    '/c1/720p/broken.ts',
  ]);
  const h = handlerFor(t);

  // Act
  const { results } = await h.handler(
    payload(files, `s3://${DST}/${prefix}`, { cacheControl: 'public, max-age=60' }),
  );

  // Assess
  assert.deepEqual(
    results.map((r) => [r.ordinal, r.key, r.status, r.attempts]),
    [
      [0, 'c1/720p/seg-1.ts', 'copied', 1],
      [1, 'c1/720p/index.m3u8', 'copied', 1],
      [2, 'c1/720p/missing.ts', 'failed', 1],
      [3, 'c1/720p/broken.ts', 'failed', 2],
    ],
  );
  const [r0, , r2, r3] = results;
  assert.ok(r0?.status === 'copied' && r0.md5 === md5(seg) && r0.bytes === seg.length);
  assert.ok(
    r2?.status === 'failed' && r2.code === 'E_SOURCE_PERMANENT' && /HTTP 404/.test(r2.reason),
  );
  assert.ok(r3?.status === 'failed' && r3.code === 'E_SOURCE_TRANSIENT');
  for (const r of results)
    if (r.status === 'failed') assert.ok(!r.reason.includes('secret'), r.reason);
  assert.ok((await s3.get(DST, `${prefix}/c1/720p/seg-1.ts`))?.equals(seg));
  const stored = await s3.client.send(
    new GetObjectCommand({ Bucket: DST, Key: `${prefix}/c1/720p/index.m3u8` }),
  );
  assert.equal(stored.ContentType, 'application/vnd.apple.mpegurl');
  assert.equal(stored.CacheControl, 'public, max-age=60');
  assert.equal(
    Buffer.from(await stored.Body!.transformToByteArray()).toString(),
    playlist.toString(),
  );
  assert.deepEqual(await s3.list(DST, `${prefix}/`), [
    `${prefix}/c1/720p/index.m3u8`,
    `${prefix}/c1/720p/seg-1.ts`,
  ]);
});

test('an invalid payload fails the whole invocation with the reasons', async (t) => {
  // Prepare
  const h = handlerFor(t);
  const tooMany = Array.from({ length: 101 }, (_, i) => ({
    ordinal: i,
    url: `http://127.0.0.1:9/${i}.ts`,
    key: `${i}.ts`,
  }));

  // Act / Assess
  await assert.rejects(h.handler({ v: 1 }), InvalidInvocationError);
  await assert.rejects(h.handler(payload(tooMany, `s3://${DST}/x`)), (err: Error) => {
    assert.ok(err instanceof InvalidInvocationError);
    assert.match(err.message, /files/);
    return true;
  });
  await assert.rejects(h.handler(payload(tooMany.slice(0, 1), 'ftp://nowhere/x')), /dest/);
});

test('S3 to S3: files are read from the source bucket and written below the destination prefix', async (t) => {
  // Prepare
  const srcPrefix = unique('lib');
  const a = randomBytes(70_000);
  const b = Buffer.from('WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n');
  await s3.client.send(
    new PutObjectCommand({ Bucket: SRC, Key: `${srcPrefix}/c2/a b.m4s`, Body: a }),
  );
  await s3.client.send(
    new PutObjectCommand({ Bucket: SRC, Key: `${srcPrefix}/c2/subs.vtt`, Body: b }),
  );
  const files: JobFile[] = [
    { ordinal: 0, url: `s3://${SRC}/${srcPrefix}/c2/a%20b.m4s`, key: 'c2/a b.m4s' },
    { ordinal: 1, url: `s3://${SRC}/${srcPrefix}/c2/subs.vtt`, key: 'c2/subs.vtt' },
    { ordinal: 2, url: `s3://${SRC}/${srcPrefix}/c2/gone.ts`, key: 'c2/gone.ts' },
  ];
  const destPrefix = unique('copy');
  const h = handlerFor(t);

  // Act
  const { results } = await h.handler(payload(files, `s3://${DST}/${destPrefix}`));

  // Assess
  assert.deepEqual(
    results.map((r) => r.status),
    ['copied', 'copied', 'failed'],
  );
  assert.ok(results[0]?.status === 'copied' && results[0].md5 === md5(a));
  assert.ok(results[2]?.status === 'failed' && results[2].code === 'E_SOURCE_PERMANENT');
  assert.match((results[2] as { reason: string }).reason, /NoSuchKey/);
  assert.ok((await s3.get(DST, `${destPrefix}/c2/a b.m4s`))?.equals(a));
  assert.ok((await s3.get(DST, `${destPrefix}/c2/subs.vtt`))?.equals(b));
  const vtt = await s3.client.send(
    new GetObjectCommand({ Bucket: DST, Key: `${destPrefix}/c2/subs.vtt` }),
  );
  assert.equal(vtt.ContentType, 'text/vtt');
});

test('skip-existing on a re-run: nothing is uploaded twice, ETag origins send no body, a changed file is copied', async (t) => {
  // Prepare: files with an MD5 ETag (CloudFront over S3) and without (a plain web server).
  const proxy = await startCountingProxy(s3.endpoint);
  t.after(() => proxy.close());
  const body = (n: number) => randomBytes(10_000 + n);
  const o = await origin(t, {
    '/c3/v/tagged-0.ts': { body: body(0), etag: true },
    '/c3/v/tagged-1.ts': { body: body(1), etag: true },
    '/c3/v/plain-0.ts': { body: body(2) },
    '/c3/v/plain-1.ts': { body: body(3) },
    '/c3/index.m3u8': { body: Buffer.from('#EXTM3U\n') },
  });
  const files = jobs(o, [
    '/c3/v/tagged-0.ts',
    '/c3/v/tagged-1.ts',
    '/c3/v/plain-0.ts',
    '/c3/v/plain-1.ts',
    '/c3/index.m3u8',
  ]);
  const dest = `s3://${DST}/${unique('skip')}`;
  const p = payload(files, dest, {
    skipExisting: true,
    s3: { endpoint: proxy.endpoint, forcePathStyle: true },
  });
  const h = handlerFor(t);

  // Act 1: first run copies everything.
  const first = await h.handler(p);
  const writesAfterFirst = proxy.writes();
  const bodiesAfterFirst = new Map(o.bodies);

  // Act 2: the same batch again.
  const second = await h.handler(p);
  const writesAfterSecond = proxy.writes();

  // Act 3: one file changed at the origin (same size, other bytes).
  o.files.get('/c3/v/plain-1.ts')!.body = body(3);
  o.files.get('/c3/v/tagged-1.ts')!.body = body(1);
  const third = await h.handler(p);

  // Assess
  assert.deepEqual(
    first.results.map((r) => r.status),
    ['copied', 'copied', 'copied', 'copied', 'copied'],
  );
  assert.equal(writesAfterFirst, 5);
  assert.deepEqual(
    second.results.map((r) => r.status),
    ['skipped', 'skipped', 'skipped', 'skipped', 'skipped'],
  );
  assert.deepEqual(
    second.results.map((r) => (r.status === 'skipped' ? r.bytes : -1)),
    [10_000, 10_001, 10_002, 10_003, 8],
  );
  assert.equal(writesAfterSecond, writesAfterFirst, 'no upload on the re-run');
  assert.equal(o.notModified.get('/c3/v/tagged-0.ts'), 2, 'an ETag origin answers 304');
  assert.equal(
    o.bodies.get('/c3/v/tagged-0.ts'),
    bodiesAfterFirst.get('/c3/v/tagged-0.ts'),
    'and sends no body',
  );
  assert.deepEqual(
    third.results.map((r) => r.status),
    ['skipped', 'copied', 'skipped', 'copied', 'skipped'],
  );
  assert.equal(proxy.writes(), writesAfterSecond + 2);
  assert.ok(
    (await s3.get(DST, `${dest.slice(`s3://${DST}/`.length)}/c3/v/plain-1.ts`))?.equals(
      o.files.get('/c3/v/plain-1.ts')!.body,
    ),
  );
});

test('skip-existing on a file:// destination leaves files in place', async (t) => {
  // Prepare
  const root = await mkdtemp(path.join(tmpdir(), 'colony-skip-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const data = randomBytes(5000);
  const o = await origin(t, { '/c4/a.ts': { body: data }, '/c4/b.ts': { body: Buffer.from('b') } });
  const p = payload(jobs(o, ['/c4/a.ts', '/c4/b.ts']), `file://${root}`, { skipExisting: true });
  const h = handlerFor(t);

  // Act
  const first = await h.handler(p);
  const before = await stat(path.join(root, 'c4/a.ts'));
  const second = await h.handler(p);
  const afterwards = await stat(path.join(root, 'c4/a.ts'));

  // Assess
  assert.deepEqual(
    first.results.map((r) => r.status),
    ['copied', 'copied'],
  );
  assert.deepEqual(
    second.results.map((r) => r.status),
    ['skipped', 'skipped'],
  );
  assert.equal(afterwards.ino, before.ino, 'not rewritten');
  assert.equal(afterwards.mtimeMs, before.mtimeMs);
  assert.ok((await readFile(path.join(root, 'c4/a.ts'))).equals(data));
});

test('copies still running when the budget ends are reported E_ABORTED, finished ones stand', async (t) => {
  // Prepare
  const o = await origin(t, {
    '/c5/fast.ts': { body: Buffer.from('fast') },
    '/c5/slow.ts': { body: Buffer.from('slow'), delayMs: 4000 },
  });
  const h = handlerFor(t);
  const root = await mkdtemp(path.join(tmpdir(), 'colony-budget-'));
  t.after(() => rm(root, { recursive: true, force: true }));

  // Act
  const started = Date.now();
  const { results } = await h.handler(
    payload(jobs(o, ['/c5/fast.ts', '/c5/slow.ts']), `file://${root}`, {
      budgetMs: 1000,
      timeoutMs: 10_000,
    }),
  );

  // Assess
  assert.ok(Date.now() - started < 3000, 'answered at the end of its budget');
  assert.equal(results[0]?.status, 'copied');
  assert.ok(
    results[1]?.status === 'failed' && results[1].code === 'E_ABORTED',
    JSON.stringify(results[1]),
  );
});
