import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { copyFile, type CopyOptions } from '../../copy/copy-file.js';
import { FileDestination } from '../../copy/destinations/file-destination.js';
import { ExistingObjects } from '../../copy/skip-existing.js';
import { HttpSource } from '../../copy/sources/http-source.js';
import { ErrorCode } from '../../schemas/errors.js';
import type { JobFile } from '../../schemas/events.js';
import { startTestOrigin } from './test-origin.js';

/** Two origins serving `/v/key.bin`, the first with `first`, the second with `second`. */
async function setup(t: TestContext, first: string, second: string) {
  const a = await startTestOrigin({ '/v/key.bin': { body: Buffer.from(first) } });
  const b = await startTestOrigin({ '/v/key.bin': { body: Buffer.from(second) } });
  const root = await mkdtemp(join(tmpdir(), 'colony-same-bytes-'));
  const source = new HttpSource({ timeoutMs: 5000 });
  const dest = new FileDestination({ root });
  t.after(async () => {
    await source.close();
    await dest.close();
    await a.close();
    await b.close();
    await rm(root, { recursive: true, force: true });
  });
  const job: JobFile = {
    ordinal: 0,
    key: 'v/key.bin',
    url: `${a.url}/v/key.bin?r=52`,
    alsoAt: [`${b.url}/v/key.bin?r=53`],
  };
  const options: CopyOptions = { source, dest, attempts: 3, timeoutMs: 5000, backoffBaseMs: 1 };
  return { a, b, root, job, options, dest };
}

test('a file named by two URLs serving the same bytes is copied once and checked once', async (t) => {
  const { a, b, root, job, options } = await setup(t, 'same sixteen b..', 'same sixteen b..');

  const outcome = await copyFile(job, options);

  assert.equal(outcome.status, 'copied', JSON.stringify(outcome));
  assert.equal(await readFile(join(root, 'v/key.bin'), 'utf8'), 'same sixteen b..');
  assert.equal(a.bodies.get('/v/key.bin'), 1, 'copied from the first URL');
  assert.equal(b.bodies.get('/v/key.bin'), 1, 'compared from the second');
});

test('other bytes behind the second URL fail the file as a key conflict, at once, without the query', async (t) => {
  for (const second of ['same length, diff', 'shorter', 'a much longer body than the first one']) {
    const { job, options } = await setup(t, 'same length, same', second);

    const outcome = await copyFile(job, options);

    assert.equal(outcome.status, 'failed', second);
    if (outcome.status !== 'failed') continue;
    assert.equal(outcome.code, ErrorCode.KeyConflict);
    assert.equal(outcome.attempts, 1, 'a conflict is not retried');
    assert.match(
      outcome.reason,
      /^v\/key\.bin: http:\/\/127\.0\.0\.1:\d+\/v\/key\.bin\?… and http:\/\/127\.0\.0\.1:\d+\/v\/key\.bin\?… name this key but serve different bytes/,
    );
    assert.doesNotMatch(outcome.reason, /r=5/);
  }
});

test('a file skipped as already there is still checked against its other URLs', async (t) => {
  const { job, options, dest } = await setup(t, 'first version...', 'other version...');
  assert.equal((await copyFile({ ...job, alsoAt: undefined }, options)).status, 'copied');

  const existing = await ExistingObjects.list(dest, [job]);
  const skipped = await copyFile({ ...job, alsoAt: undefined }, { ...options, existing });
  const outcome = await copyFile(job, { ...options, existing });

  assert.equal(skipped.status, 'skipped', 'the skip itself works');
  assert.equal(outcome.status, 'failed');
  if (outcome.status === 'failed') assert.equal(outcome.code, ErrorCode.KeyConflict);
});
