import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { FileDestination } from '../../../copy/destinations/file-destination.js';
import { makeDirs } from '../../../copy/destinations/make-dirs.js';
import { ColonyError } from '../../../schemas/errors.js';

test('makeDirs creates every missing level, and twice is fine', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'colony-mkdirs-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const deep = join(root, 'a', 'b', 'c');
  await Promise.all([makeDirs(deep), makeDirs(deep)]);
  assert.ok((await stat(deep)).isDirectory());
});

test('a file in the path is ENOTDIR', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'colony-mkdirs-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await writeFile(join(root, 'f'), 'x');
  await assert.rejects(makeDirs(join(root, 'f', 'sub')), { code: 'ENOTDIR' });
  await assert.rejects(makeDirs(join(root, 'f')), { code: 'ENOTDIR' });
});

test('under procfs it fails (Node recursive mkdir never returns there), and a put fails for good', async () => {
  await assert.rejects(makeDirs('/proc/colony-nope/x'), /cannot create directories in \/proc/);
  const dest = new FileDestination({ root: '/proc/colony-nope' });
  const body = Readable.from([Buffer.from('x')]);
  await assert.rejects(dest.put('a/b.ts', body, { size: 1 }), (err: unknown) => {
    assert.ok(err instanceof ColonyError);
    assert.equal(err.retryable, false);
    return true;
  });
});
