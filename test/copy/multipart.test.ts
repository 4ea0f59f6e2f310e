import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { createHandler, type CopyHandler } from '../../lambda/handler.js';
import type { JobFile } from '../../schemas/events.js';
import type { CopyInvocationInput } from '../../schemas/lambda.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { startCountingProxy, startTestOrigin } from './test-origin.js';

const SRC = 'colony-mp-src';
const DST = 'colony-mp-dst';
const MiB = 1024 * 1024;
// S3's smallest part is 5 MiB: the threshold and part size tests can use on a real store too.
const multipart = { thresholdBytes: 5 * MiB, partBytes: 5 * MiB };
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

let s3: TestS3;
let h: CopyHandler;
let savedEnv: Record<string, string | undefined>;

before(async () => {
  s3 = await startS3([SRC, DST]);
  savedEnv = {};
  for (const [k, v] of Object.entries(s3.env)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  h = createHandler();
});

after(async () => {
  await h.close();
  await s3.close();
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

function payload(
  files: JobFile[],
  prefix: string,
  extra: Partial<CopyInvocationInput> = {},
): CopyInvocationInput {
  return {
    v: 1,
    dest: `s3://${DST}/${prefix}`,
    files,
    attempts: 3,
    timeoutMs: 5000,
    concurrency: 2,
    s3: { endpoint: s3.endpoint, forcePathStyle: true },
    multipart,
    ...extra,
  };
}

const unique = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

test('a file over the multipart threshold arrives intact, in parts, with a read resumed after the origin broke off', async (t) => {
  // Prepare: 12 MiB + 3 bytes, three parts; the first GET breaks off half way.
  const data = randomBytes(12 * MiB + 3);
  const small = randomBytes(1000);
  const origin = await startTestOrigin({
    '/big/movie.mp4': { body: data, etag: true, truncateTimes: 1 },
    '/big/small.ts': { body: small },
  });
  t.after(() => origin.close());
  const proxy = await startCountingProxy(s3.endpoint);
  t.after(() => proxy.close());
  const prefix = unique('mp');
  const files: JobFile[] = [
    { ordinal: 0, url: `${origin.url}/big/movie.mp4`, key: 'big/movie.mp4' },
    { ordinal: 1, url: `${origin.url}/big/small.ts`, key: 'big/small.ts' },
  ];

  // Act
  const { results } = await h.handler(
    payload(files, prefix, { s3: { endpoint: proxy.endpoint, forcePathStyle: true } }),
  );

  // Assess
  const [big, tiny] = results;
  assert.ok(big?.status === 'copied', JSON.stringify(big));
  assert.equal(big.bytes, data.length);
  assert.equal(big.md5, md5(data));
  assert.equal(big.attempts, 1, 'resumed within the attempt, not started again');
  assert.equal(origin.ranged.get('/big/movie.mp4'), 1, 'one ranged GET resumed the read');
  assert.equal(tiny?.status, 'copied');
  const stored = await s3.get(DST, `${prefix}/big/movie.mp4`);
  assert.equal(stored?.length, data.length);
  assert.ok(stored?.equals(data), 'byte for byte');
  const head = await s3.client.send(
    new HeadObjectCommand({ Bucket: DST, Key: `${prefix}/big/movie.mp4` }),
  );
  assert.equal(head.ContentLength, data.length);
  assert.equal(head.ContentType, 'video/mp4');
  assert.equal(
    head.Metadata?.['colony-source-etag'],
    `"${md5(data)}"`,
    'the source version, for skip-existing',
  );
  // CreateMultipartUpload + 3 UploadPart + CompleteMultipartUpload, and one PutObject.
  assert.equal(proxy.writes(), 6);
});

test('a large S3 object is copied to another bucket in parts, and skipped on a re-run', async (t) => {
  // Prepare
  const data = randomBytes(11 * MiB);
  const srcKey = `${unique('lib')}/c/large.ts`;
  await s3.client.send(new PutObjectCommand({ Bucket: SRC, Key: srcKey, Body: data }));
  const prefix = unique('mp-s3');
  const files: JobFile[] = [{ ordinal: 7, url: `s3://${SRC}/${srcKey}`, key: 'c/large.ts' }];
  const p = payload(files, prefix, { skipExisting: true });

  // Act
  const first = await h.handler(p);
  const second = await h.handler(p);

  // Assess
  assert.ok(first.results[0]?.status === 'copied' && first.results[0].md5 === md5(data));
  assert.deepEqual(second.results[0], {
    ordinal: 7,
    key: 'c/large.ts',
    status: 'skipped',
    attempts: 1,
    bytes: data.length,
  });
  assert.ok((await s3.get(DST, `${prefix}/c/large.ts`))?.equals(data));
  const uploads = await s3.client
    .send(new ListMultipartUploadsCommand({ Bucket: DST }))
    .catch(() => undefined);
  assert.equal(uploads?.Uploads?.length ?? 0, 0, 'no upload left open');
});

test('a file whose origin keeps breaking off fails after its attempts and leaves nothing', async (t) => {
  // Prepare
  const origin = await startTestOrigin({
    '/big/bad.mp4': { body: randomBytes(6 * MiB), truncateTimes: 99 },
  });
  t.after(() => origin.close());
  const prefix = unique('mp-bad');

  // Act
  const { results } = await h.handler(
    payload([{ ordinal: 0, url: `${origin.url}/big/bad.mp4`, key: 'big/bad.mp4' }], prefix, {
      attempts: 2,
    }),
  );

  // Assess
  assert.ok(
    results[0]?.status === 'failed' && results[0].code === 'E_SOURCE_TRANSIENT',
    JSON.stringify(results[0]),
  );
  assert.deepEqual(await s3.list(DST, `${prefix}/`), []);
});
