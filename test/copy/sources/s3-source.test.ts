import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { parseS3Url, S3Source } from '../../../copy/sources/s3-source.js';
import { SchemeSource } from '../../../copy/sources/scheme-source.js';
import { SourcePermanentError } from '../../../schemas/errors.js';
import { S3RVER_CREDENTIALS, startS3, type TestS3 } from '../../helpers/s3.js';

const BUCKET = 'colony-s3-source';
const data = randomBytes(100_000);
const md5 = createHash('md5').update(data).digest('hex');

let s3: TestS3;
let source: S3Source;

before(async () => {
  s3 = await startS3([BUCKET]);
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'lib/a b/seg.ts', Body: data }));
  source = new S3Source({
    settings: { endpoint: s3.endpoint, forcePathStyle: true },
    credentials: S3RVER_CREDENTIALS,
    timeoutMs: 5000,
  });
});

after(async () => {
  await source.close();
  await s3.close();
});

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

test('open streams an object with its size and ETag; the key is the decoded URL path', async () => {
  // Act
  const opened = await source.open(`s3://${BUCKET}/lib/a%20b/seg.ts`);

  // Assess
  assert.equal(opened.size, data.length);
  assert.equal(opened.etag, `"${md5}"`);
  assert.ok((await readAll(opened.body)).equals(data));
});

test('a ranged read returns the rest of the object and its total size', async () => {
  // Act
  const opened = await source.open(`s3://${BUCKET}/lib/a%20b/seg.ts`, { range: { start: 60_000 } });

  // Assess
  assert.equal(opened.size, 40_000);
  assert.equal(opened.totalSize, data.length);
  assert.ok((await readAll(opened.body)).equals(data.subarray(60_000)));
});

test('If-None-Match with the current ETag answers not modified, with no body', async () => {
  // Act
  const same = await source.open(`s3://${BUCKET}/lib/a%20b/seg.ts`, { ifNoneMatch: md5 });
  const other = await source.open(`s3://${BUCKET}/lib/a%20b/seg.ts`, {
    ifNoneMatch: 'f'.repeat(32),
  });

  // Assess
  assert.equal(same.notModified, true);
  assert.equal(other.notModified, undefined);
  assert.ok((await readAll(other.body)).equals(data));
});

test('missing objects, missing buckets and bad URLs are permanent failures', async () => {
  // Act / Assess
  await assert.rejects(
    source.open(`s3://${BUCKET}/nope.ts`),
    (err: Error) => err instanceof SourcePermanentError && /NoSuchKey/.test(err.message),
  );
  await assert.rejects(source.open('s3://no-such-bucket/x.ts'), SourcePermanentError);
  assert.throws(() => parseS3Url('s3://bucket-only'), SourcePermanentError);
  assert.throws(() => parseS3Url('s3://b/%E0%A4%A'), SourcePermanentError);
  assert.deepEqual(parseS3Url('s3://b/k/x%3Fy.ts?versionId=1'), { bucket: 'b', key: 'k/x?y.ts' });
});

test('the scheme source reads s3:// from the bucket and refuses other schemes', async (t) => {
  // Prepare
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  const any = new SchemeSource({
    connections: 2,
    timeoutMs: 5000,
    s3: { endpoint: s3.endpoint, forcePathStyle: true },
  });
  t.after(async () => {
    await any.close();
    for (const [name, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  // Act
  const opened = await any.open(`s3://${BUCKET}/lib/a%20b/seg.ts`, {});

  // Assess
  assert.ok((await readAll(opened.body)).equals(data));
  await assert.rejects(
    any.open('ftp://host/x.ts', {}),
    (err: Error) => err instanceof SourcePermanentError && /ftp/.test(err.message),
  );
});
