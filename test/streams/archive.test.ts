import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import type { Destination } from '../../copy/destinations/destination.js';
import { FileDestination } from '../../copy/destinations/file-destination.js';
import { S3Destination } from '../../copy/destinations/s3-destination.js';
import { UnsafeUriError } from '../../schemas/errors.js';
import { StreamArchive } from '../../streams/archive.js';
import { S3RVER_CREDENTIALS, startS3, type TestS3 } from '../helpers/s3.js';

const BUCKET = 'archive-test';
let s3: TestS3;
let root: string;

before(async () => {
  s3 = await startS3([BUCKET]);
  root = await mkdtemp(join(tmpdir(), 'colony-list-'));
});

after(async () => {
  await s3.close();
  await rm(root, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<{ key: string; size: number }>): Promise<string[]> {
  const out: string[] = [];
  for await (const o of it) out.push(`${o.key}:${o.size}`);
  return out.sort();
}

async function fill(dest: Destination): Promise<void> {
  for (const [key, body] of [
    ['a/1.ts', 'x'],
    ['a/2.ts', 'yy'],
    ['a/b/3.ts', 'zzz'],
    ['ab.m3u8', 'mm'],
    ['c/4.ts', '4444'],
  ] as const) {
    await dest.put(key, Readable.from([Buffer.from(body)]), { size: body.length });
  }
}

const destinations: [string, () => Destination][] = [
  ['file://', () => new FileDestination({ root })],
  [
    's3://',
    () =>
      new S3Destination({
        url: `s3://${BUCKET}/lib`,
        bucket: BUCKET,
        prefix: 'lib',
        settings: { endpoint: s3.endpoint, forcePathStyle: true },
        credentials: S3RVER_CREDENTIALS,
      }),
  ],
];

for (const [name, open] of destinations) {
  describe(`${name} list and get`, () => {
    test('lists a folder, recursively or not, and by name prefix, with sizes', async () => {
      // Prepare
      const dest = open();
      await fill(dest);
      if (name === 'file://')
        await writeFile(join(root, 'a', '.1.ts.0123456789abcdef.tmp'), 'partial');

      // Act and assess
      assert.deepEqual(await collect(dest.list('a/')), ['a/1.ts:1', 'a/2.ts:2', 'a/b/3.ts:3']);
      assert.deepEqual(await collect(dest.list('a/', { recursive: false })), [
        'a/1.ts:1',
        'a/2.ts:2',
      ]);
      assert.deepEqual(await collect(dest.list('a')), [
        'a/1.ts:1',
        'a/2.ts:2',
        'a/b/3.ts:3',
        'ab.m3u8:2',
      ]);
      assert.deepEqual(await collect(dest.list('', { recursive: false })), ['ab.m3u8:2']);
      assert.deepEqual(await collect(dest.list('nothing/here/')), []);
      await dest.close();
    });

    test('get streams an object back, and answers undefined for none', async () => {
      const dest = open();
      await fill(dest);
      const body = await dest.get('c/4.ts');
      assert.ok(body);
      assert.equal(await text(body), '4444');
      assert.equal(await dest.get('c/none.ts'), undefined);
      await dest.close();
    });

    test('a listing cannot leave the destination', async () => {
      const dest = open();
      await assert.rejects(collect(dest.list('../')), UnsafeUriError);
      await dest.close();
    });

    test('archives round-trip: gzip NDJSON objects read back in ID order, by range', async () => {
      // Prepare
      const dest = open();
      const archive = new StreamArchive(dest, 'pfx');
      const entries = Array.from({ length: 12 }, (_, i) => ({
        id: `${1000 + i}-0`,
        fields: { type: 't', data: `{"n":${i}}` },
      }));

      // Act: out of order on purpose; listing order must not matter.
      await archive.write('jobs', 0, entries.slice(6));
      const chunk = await archive.write('jobs', 0, entries.slice(0, 6));
      const all = [];
      for await (const e of archive.read('jobs', 0)) all.push(e);
      const some = [];
      for await (const e of archive.read('jobs', 0, { from: '1004-0', to: '1007-0' }))
        some.push(e.id);

      // Assess
      assert.equal(chunk.key, '_colony/archive/pfx/jobs/0/1000-0-1005-0.ndjson.gz');
      assert.deepEqual(all, entries);
      assert.deepEqual(some, ['1004-0', '1005-0', '1006-0', '1007-0']);
      await dest.close();
    });
  });
}

test('file:// list skips what is not a file and a missing root folder', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'colony-list-'));
  try {
    await mkdir(join(empty, 'only', 'dirs'), { recursive: true });
    const dest = new FileDestination({ root: empty });
    assert.deepEqual(await collect(dest.list('')), []);
    assert.deepEqual(
      await collect(new FileDestination({ root: join(empty, 'absent') }).list('')),
      [],
    );
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});
