import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { Destination, ListedObject, ObjectInfo } from '../../copy/destinations/destination.js';
import { ExistingObjects, sharedDirectory } from '../../copy/skip-existing.js';
import type { JobFile } from '../../schemas/events.js';

/** A destination in memory that records what it was asked. */
function store(objects: Record<string, ObjectInfo & { body?: string }>) {
  const calls = { list: [] as string[], head: [] as string[], get: [] as string[] };
  const dest: Destination = {
    url: 's3://stub/prefix',
    put: () => Promise.reject(new Error('not used')),
    delete: () => Promise.reject(new Error('not used')),
    async head(key) {
      calls.head.push(key);
      const o = objects[key];
      if (!o) return undefined;
      const { body: _body, ...info } = o;
      return info;
    },
    async *list(prefix): AsyncIterable<ListedObject> {
      calls.list.push(prefix);
      for (const [key, o] of Object.entries(objects)) {
        if (key.startsWith(prefix))
          yield o.etag === undefined ? { key, size: o.size } : { key, size: o.size, etag: o.etag };
      }
    },
    async get(key) {
      calls.get.push(key);
      const o = objects[key];
      return o?.body === undefined ? undefined : Readable.from([Buffer.from(o.body)]);
    },
    close: async () => {},
  };
  return { dest, calls };
}

const job = (key: string, ordinal = 0): JobFile => ({
  ordinal,
  key,
  url: `https://cdn.example/${key}`,
});

test('sharedDirectory is the directory every key starts with', () => {
  // Act / Assess
  assert.equal(sharedDirectory(['c/720p/a.ts', 'c/720p/b.ts']), 'c/720p/');
  assert.equal(sharedDirectory(['c/720p/a.ts', 'c/1080p/a.ts', 'c/index.m3u8']), 'c/');
  assert.equal(sharedDirectory(['c/720p/seg-1.ts', 'c/720p/seg-10.ts']), 'c/720p/');
  assert.equal(sharedDirectory(['a.ts', 'b.ts']), '');
  assert.equal(sharedDirectory([]), '');
});

test('one listing per batch; single-part ETags are the MD5, parts and stores without checksums are asked per key', async () => {
  // Prepare
  const { dest, calls } = store({
    'c/v/single.ts': { size: 3, etag: '0cc175b9c0f1b6a831c399e269772661' },
    'c/v/parts.mp4': { size: 9, etag: '3858f62230ac3c915f300c664312c63f-2', sourceEtag: '"abc"' },
    'c/v/plain.ts': { size: 1, body: 'a' },
    'c/other/x.ts': { size: 1 },
  });
  const jobs = ['c/v/single.ts', 'c/v/parts.mp4', 'c/v/plain.ts', 'c/v/absent.ts'].map((k, i) =>
    job(k, i),
  );

  // Act
  const existing = await ExistingObjects.list(dest, jobs);
  const found = await Promise.all(jobs.map((j) => existing.lookup(j.key)));

  // Assess
  assert.deepEqual(calls.list, ['c/v/']);
  assert.deepEqual(found, [
    { size: 3, md5: '0cc175b9c0f1b6a831c399e269772661' },
    { size: 9, sourceEtag: '"abc"' },
    { size: 1, md5: '0cc175b9c0f1b6a831c399e269772661' },
    undefined,
  ]);
  assert.deepEqual(calls.head, ['c/v/parts.mp4'], 'a HEAD only for the object uploaded in parts');
  assert.deepEqual(calls.get, ['c/v/plain.ts'], 'a read only where the store keeps no checksum');
});

test('a listing cut at its limit falls back to one HEAD per key it did not see', async () => {
  // Prepare
  const objects: Record<string, ObjectInfo> = {};
  for (let i = 0; i < 20; i++)
    objects[`d/${String(i).padStart(2, '0')}.ts`] = { size: i, etag: 'e'.repeat(32) };
  const { dest, calls } = store(objects);
  const jobs = [job('d/19.ts', 0), job('d/zz.ts', 1)];

  // Act
  const existing = await ExistingObjects.list(dest, jobs, 5);
  const found = await Promise.all(jobs.map((j) => existing.lookup(j.key)));

  // Assess
  assert.deepEqual(found, [{ size: 19, md5: 'e'.repeat(32) }, undefined]);
  assert.deepEqual(calls.head.sort(), ['d/19.ts', 'd/zz.ts']);
});
