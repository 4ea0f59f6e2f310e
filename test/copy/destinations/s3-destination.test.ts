import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS, startS3, type TestS3 } from '../../helpers/s3.js';
import { contentTypeFor, openDestination } from '../../../copy/destinations/open-destination.js';
import { S3Destination } from '../../../copy/destinations/s3-destination.js';
import {
  ConfigError,
  DestinationError,
  SizeMismatchError,
  UnsafeUriError,
} from '../../../schemas/errors.js';

const BUCKET = 'colony-test';
const credentials = S3RVER_CREDENTIALS;

let s3: TestS3;
let endpoint: string;
// An independent client to read back what the destination wrote.
let reader: S3Client;

before(async () => {
  s3 = await startS3([BUCKET]);
  endpoint = s3.endpoint;
  reader = s3.client;
});

after(() => s3.close());

/** A destination under a prefix no other test uses. */
function destination(options: { maxSinglePutBytes?: number; bucket?: string } = {}): S3Destination {
  const prefix = `t-${randomBytes(6).toString('hex')}`;
  return new S3Destination({
    url: `s3://${BUCKET}/${prefix}`,
    bucket: options.bucket ?? BUCKET,
    prefix,
    settings: { endpoint, forcePathStyle: true },
    credentials,
    ...(options.maxSinglePutBytes === undefined
      ? {}
      : { maxSinglePutBytes: options.maxSinglePutBytes }),
  });
}

async function getObject(
  key: string,
): Promise<{ bytes: Buffer; contentLength?: number; contentType?: string }> {
  const output = await reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  assert.ok(output.Body);
  const bytes = Buffer.from(await output.Body.transformToByteArray());
  return { bytes, contentLength: output.ContentLength, contentType: output.ContentType };
}

function chunked(data: Buffer, chunkSize = 65_521): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
  return Readable.from(chunks);
}

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

test('put stores 0 bytes, 1 byte and 1 MiB + 7 byte for byte', async (t) => {
  // Prepare
  const dest = destination();
  t.after(() => dest.close());

  for (const size of [0, 1, 1024 * 1024 + 7]) {
    const data = randomBytes(size);
    const key = `class-1/720p/seg-${size}.ts`;

    // Act
    const receipt = await dest.put(key, chunked(data), { size, contentType: contentTypeFor(key) });

    // Assess
    const stored = await getObject(`${dest.prefix}/${key}`);
    assert.equal(stored.bytes.length, size, `stored length of ${size}`);
    assert.equal(stored.contentLength, size);
    assert.ok(stored.bytes.equals(data), `content of ${size}`);
    assert.equal(stored.contentType, 'video/mp2t');
    assert.deepEqual(receipt, { bytes: size, md5: md5(data), etag: md5(data) });
    assert.deepEqual(await dest.head(key), { size, etag: md5(data), md5: md5(data) });
  }
});

test('put without an announced size stores the whole body', async (t) => {
  // Prepare
  const dest = destination();
  t.after(() => dest.close());
  const data = randomBytes(300_001);

  // Act
  const receipt = await dest.put('a/b.m4s', chunked(data, 4096), { size: undefined });

  // Assess
  const stored = await getObject(`${dest.prefix}/a/b.m4s`);
  assert.equal(stored.bytes.length, data.length);
  assert.ok(stored.bytes.equals(data));
  assert.equal(receipt.md5, md5(data));
});

test('head of a missing key is undefined', async (t) => {
  // Prepare
  const dest = destination();
  t.after(() => dest.close());

  // Act
  const info = await dest.head('missing/seg.ts');

  // Assess
  assert.equal(info, undefined);
});

test('a size mismatch is rejected and nothing is stored', async (t) => {
  // Prepare
  const dest = destination();
  t.after(() => dest.close());
  const data = randomBytes(10_000);

  // Act / Assess
  await assert.rejects(
    dest.put('short.ts', chunked(data, 1000), { size: 10_001 }),
    SizeMismatchError,
  );
  await assert.rejects(
    dest.put('long.ts', chunked(data, 1000), { size: 9_999 }),
    SizeMismatchError,
  );
  assert.equal(await dest.head('short.ts'), undefined);
  assert.equal(await dest.head('long.ts'), undefined);
});

test('bodies over maxSinglePutBytes and unsafe keys are refused, permanently', async (t) => {
  // Prepare
  const dest = destination({ maxSinglePutBytes: 1000 });
  t.after(() => dest.close());

  // Act / Assess
  const permanent = (err: unknown): boolean => err instanceof DestinationError && !err.retryable;
  await assert.rejects(dest.put('big.ts', chunked(randomBytes(1001)), { size: 1001 }), permanent);
  await assert.rejects(
    dest.put('big2.ts', chunked(randomBytes(1001)), { size: undefined }),
    permanent,
  );
  await assert.rejects(
    dest.put('../escape.ts', chunked(randomBytes(1)), { size: 1 }),
    UnsafeUriError,
  );
  assert.equal(await dest.head('big.ts'), undefined);
  assert.equal(await dest.head('big2.ts'), undefined);
});

test('a missing bucket is a permanent DestinationError', async (t) => {
  // Prepare
  const dest = destination({ bucket: 'no-such-bucket' });
  t.after(() => dest.close());

  // Act / Assess
  await assert.rejects(
    dest.put('seg.ts', chunked(Buffer.from('abc')), { size: 3 }),
    (err) => err instanceof DestinationError && !err.retryable && /NoSuchBucket/.test(err.message),
  );
});

test('openDestination opens s3 and file URLs and refuses others', async (t) => {
  // Prepare
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  const dest = openDestination(`s3://${BUCKET}/opened/prefix/`, { endpoint, forcePathStyle: true });
  t.after(async () => {
    await dest.close();
    for (const [name, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  // Act
  await dest.put('m.m3u8', chunked(Buffer.from('#EXTM3U\n')), { size: 8 });

  // Assess
  assert.equal((await getObject('opened/prefix/m.m3u8')).bytes.toString(), '#EXTM3U\n');
  assert.equal(openDestination('file:///tmp/colony-out', {}).url, 'file:///tmp/colony-out');
  for (const bad of [
    'http://x/y',
    'file://relative/dir',
    'file:relative',
    's3:///prefix',
    's3://b/%2e%2e/x',
    's3://b/a/../x',
    'file:///tmp/%2e%2e/etc',
    'nonsense',
  ]) {
    assert.throws(() => openDestination(bad, {}), ConfigError, bad);
  }
});

test('contentTypeFor maps HLS extensions', () => {
  // Act / Assess
  assert.equal(contentTypeFor('a/master.M3U8'), 'application/vnd.apple.mpegurl');
  assert.equal(contentTypeFor('a/seg.ts'), 'video/mp2t');
  assert.equal(contentTypeFor('a/seg.m4s'), 'video/iso.segment');
  assert.equal(contentTypeFor('a/init.mp4'), 'video/mp4');
  assert.equal(contentTypeFor('a/audio.aac'), 'audio/aac');
  assert.equal(contentTypeFor('a/subs.vtt'), 'text/vtt');
  assert.equal(contentTypeFor('a/k.key'), 'application/octet-stream');
  assert.equal(contentTypeFor('a/README'), 'application/octet-stream');
});

/**
 * Failure answers s3rver never gives: a loopback server that answers every request with the
 * given status, S3 error code and ETag.
 */
async function failingStore(
  t: { after(fn: () => Promise<void>): void },
  answer: { status: number; code?: string; etag?: string },
): Promise<string> {
  const stub = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      if (answer.etag !== undefined) res.setHeader('ETag', `"${answer.etag}"`);
      res.statusCode = answer.status;
      res.end(
        answer.code
          ? `<?xml version="1.0"?><Error><Code>${answer.code}</Code><Message>m</Message></Error>`
          : '',
      );
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => stub.close(() => resolve())));
  return `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
}

test('store errors are classified as retryable or not', async (t) => {
  const cases = [
    { answer: { status: 503, code: 'SlowDown' }, retryable: true },
    { answer: { status: 400, code: 'BadDigest' }, retryable: true },
    { answer: { status: 403, code: 'AccessDenied' }, retryable: false },
    { answer: { status: 200, etag: '0123456789abcdef0123456789abcdef' }, retryable: true },
  ];
  for (const { answer, retryable } of cases) {
    // Prepare
    const stubEndpoint = await failingStore(t, answer);
    const dest = new S3Destination({
      url: 's3://b/p',
      bucket: 'b',
      prefix: 'p',
      settings: { endpoint: stubEndpoint, forcePathStyle: true },
      credentials,
    });

    // Act / Assess
    await assert.rejects(
      dest.put('seg.ts', chunked(Buffer.from('abc')), { size: 3 }),
      (err) => err instanceof DestinationError && err.retryable === retryable,
      JSON.stringify(answer),
    );
    await dest.close();
  }
});
