import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { FileDestination } from '../../../copy/destinations/file-destination.js';
import { SizeMismatchError, UnsafeUriError } from '../../../schemas/errors.js';

async function tempRoot(t: TestContext): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'colony-filedest-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

/** Every file below `dir`, relative, sorted; temp files included. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/** A body delivered in uneven chunks, as a socket would. */
function chunked(data: Buffer, chunkSize = 65_521): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
  return Readable.from(chunks);
}

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

test('put writes byte-identical content and reports size and md5', async (t) => {
  // Prepare
  const root = await tempRoot(t);
  const dest = new FileDestination({ root });
  const data = randomBytes(1024 * 1024 + 7);

  // Act
  const receipt = await dest.put('class-1/720p/seg-1.ts', chunked(data), { size: data.length });

  // Assess
  const stored = await readFile(path.join(root, 'class-1/720p/seg-1.ts'));
  assert.equal(stored.length, data.length);
  assert.ok(stored.equals(data));
  assert.deepEqual(receipt, { bytes: data.length, md5: md5(data) });
  assert.deepEqual(await dest.head('class-1/720p/seg-1.ts'), { size: data.length });
  assert.deepEqual(await listFiles(root), [path.join('class-1', '720p', 'seg-1.ts')]);
});

test('put of an empty body without an announced size writes an empty file', async (t) => {
  // Prepare
  const root = await tempRoot(t);
  const dest = new FileDestination({ root });

  // Act
  const receipt = await dest.put('empty.vtt', Readable.from([]), { size: undefined });

  // Assess
  assert.deepEqual(receipt, { bytes: 0, md5: md5(Buffer.alloc(0)) });
  assert.equal((await readFile(path.join(root, 'empty.vtt'))).length, 0);
});

test('put rejects a body shorter or longer than announced and leaves nothing', async (t) => {
  // Prepare
  const root = await tempRoot(t);
  const dest = new FileDestination({ root });
  const data = randomBytes(5000);

  // Act / Assess
  await assert.rejects(
    dest.put('a/short.ts', chunked(data, 700), { size: 5001 }),
    SizeMismatchError,
  );
  await assert.rejects(
    dest.put('a/long.ts', chunked(data, 700), { size: 4999 }),
    SizeMismatchError,
  );
  assert.deepEqual(await listFiles(root), []);
  assert.equal(await dest.head('a/short.ts'), undefined);
});

test('put creates nested directories and overwrites an existing file', async (t) => {
  // Prepare
  const root = await tempRoot(t);
  const dest = new FileDestination({ root });
  const first = Buffer.from('first version, longer than the second');
  const second = Buffer.from('second');

  // Act
  await dest.put('x/y/z/w/file.m3u8', chunked(first), { size: first.length });
  const receipt = await dest.put('x/y/z/w/file.m3u8', chunked(second), { size: second.length });

  // Assess
  assert.equal(receipt.md5, md5(second));
  assert.ok((await readFile(path.join(root, 'x/y/z/w/file.m3u8'))).equals(second));
  assert.deepEqual(await listFiles(root), [path.join('x', 'y', 'z', 'w', 'file.m3u8')]);
});

test('a body that fails midway rejects with its error and leaves no temp file', async (t) => {
  // Prepare
  const root = await tempRoot(t);
  const dest = new FileDestination({ root });
  const failure = new Error('connection reset');
  async function* broken(): AsyncGenerator<Buffer> {
    yield randomBytes(100_000);
    throw failure;
  }

  // Act / Assess
  await assert.rejects(
    dest.put('seg.ts', Readable.from(broken()), { size: 200_000 }),
    (err) => err === failure,
  );
  assert.deepEqual(await listFiles(root), []);
});

test('an aborted put rejects and leaves no temp file', async (t) => {
  // Prepare
  const root = await tempRoot(t);
  const dest = new FileDestination({ root });
  const controller = new AbortController();
  async function* slow(): AsyncGenerator<Buffer> {
    yield randomBytes(1000);
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 50));
    yield randomBytes(1000);
  }

  // Act / Assess
  await assert.rejects(
    dest.put('seg.ts', Readable.from(slow()), { size: 2000, signal: controller.signal }),
    (err: Error) => err.name === 'AbortError',
  );
  assert.deepEqual(await listFiles(root), []);
});

test('unsafe keys are refused before anything is written', async (t) => {
  // Prepare
  const root = await tempRoot(t);
  const dest = new FileDestination({ root: path.join(root, 'inner') });

  // Act / Assess
  await assert.rejects(
    dest.put('../escape.ts', chunked(Buffer.from('x')), { size: 1 }),
    UnsafeUriError,
  );
  await assert.rejects(
    dest.put('%2e%2e/escape.ts', chunked(Buffer.from('x')), { size: 1 }),
    UnsafeUriError,
  );
  await assert.rejects(dest.head('../escape.ts'), UnsafeUriError);
  assert.deepEqual(await listFiles(root), []);
});

test('head of a missing key or a directory is undefined', async (t) => {
  // Prepare
  const root = await tempRoot(t);
  const dest = new FileDestination({ root });
  await dest.put('dir/file.ts', chunked(Buffer.from('abc')), { size: 3 });

  // Act / Assess
  assert.equal(await dest.head('missing.ts'), undefined);
  assert.equal(await dest.head('dir'), undefined);
  assert.equal(await dest.head('dir/file.ts/below'), undefined);
  assert.equal(dest.url.startsWith('file:///'), true);
});
