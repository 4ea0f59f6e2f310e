import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileDestination } from '../../../copy/destinations/file-destination.js';
import { S3Destination } from '../../../copy/destinations/s3-destination.js';
import { PROBE_PREFIX, probeDestination } from '../../../copy/destinations/probe-destination.js';
import { S3RVER_CREDENTIALS, startS3 } from '../../helpers/s3.js';

test('the probe writes under _colony/ and deletes what it wrote (file://)', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'colony-probe-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  assert.ok(PROBE_PREFIX.startsWith('_colony/'));
  await probeDestination(new FileDestination({ root }));
  assert.deepEqual(await readdir(root), [], 'no file and no directory left behind');
});

test('the probe writes under _colony/ and deletes what it wrote (S3)', async (t) => {
  const s3 = await startS3(['probe']);
  t.after(() => s3.close());
  const dest = new S3Destination({
    url: 's3://probe/lib',
    bucket: 'probe',
    prefix: 'lib',
    settings: { endpoint: s3.endpoint, forcePathStyle: true },
    credentials: S3RVER_CREDENTIALS,
  });
  t.after(() => dest.close());
  await probeDestination(dest);
  assert.deepEqual(await s3.list('probe'), []);
});
