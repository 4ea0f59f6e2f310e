import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startLocalRedis } from '../../cli/local-redis.js';
import { runColony } from '../helpers/cli.js';
import { uniquePrefix } from '../helpers/redis.js';
import { startLambdaEndpoint } from '../lambda/lambda-endpoint.js';

type Doctor = {
  ok: boolean;
  findings: { level: string; check: string; message: string; setting?: string }[];
};

const TIMEOUT = { timeout: 60_000 };

test(
  'doctor on a well-set Redis and a writable destination: all is well, exit 0',
  TIMEOUT,
  async (t) => {
    // Prepare
    const redis = await startLocalRedis({
      args: ['--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory', '256mb'],
    });
    t.after(() => redis.stop());
    const out = await mkdtemp(join(tmpdir(), 'colony-doctor-'));
    t.after(() => rm(out, { recursive: true, force: true }));
    const env = {
      REDIS_URL: redis.url,
      COLONY_PREFIX: uniquePrefix('doc'),
      COLONY_DEST: `file://${out}`,
    };

    // Act
    const text = await runColony(['doctor'], env, 30_000);
    const json = await runColony(['doctor', '--json'], env, 30_000);

    // Assess
    assert.equal(text.code, 0, text.stdout + text.stderr);
    assert.match(text.stdout, /all is well/);
    assert.match(text.stdout, /appendfsync everysec/);
    const report = JSON.parse(json.stdout) as Doctor;
    assert.equal(report.ok, true);
    assert.deepEqual([...new Set(report.findings.map((f) => f.check))].sort(), [
      'destination',
      'eviction',
      'memory',
      'persistence',
      'runtime',
      'version',
    ]);
    assert.deepEqual(await readdir(join(out, '_colony', 'doctor')), ['write-check']);
  },
);

test('doctor names the setting for each problem, and exits 1', TIMEOUT, async (t) => {
  // Prepare: an evicting Redis without persistence, a destination that cannot be written, and
  // a Lambda function that does not exist.
  const redis = await startLocalRedis({
    args: ['--maxmemory', '64mb', '--maxmemory-policy', 'volatile-lru'],
  });
  t.after(() => redis.stop());
  const out = await mkdtemp(join(tmpdir(), 'colony-doctor-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  await writeFile(join(out, 'a-file'), 'not a folder');
  const lambda = await startLambdaEndpoint({
    functionName: 'colony-copy',
    handler: async () => ({}),
  });
  t.after(() => lambda.close());
  const env = {
    REDIS_URL: redis.url,
    COLONY_PREFIX: uniquePrefix('doc'),
    COLONY_DEST: `file://${out}/a-file/lib`,
    COLONY_RUNTIME: 'lambda',
    COLONY_LAMBDA_ENDPOINT: lambda.url,
    COLONY_LAMBDA_FUNCTION: 'colony-kopy',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };

  // Act
  const bad = await runColony(['doctor', '--json'], env, 30_000);
  const good = await runColony(
    ['doctor', '--json'],
    { ...env, COLONY_LAMBDA_FUNCTION: 'colony-copy' },
    30_000,
  );

  // Assess
  assert.equal(bad.code, 1, bad.stderr);
  const report = JSON.parse(bad.stdout) as Doctor;
  const of = (check: string) => report.findings.find((f) => f.check === check)!;
  assert.equal(of('eviction').level, 'error');
  assert.match(of('eviction').setting!, /maxmemory-policy noeviction/);
  assert.equal(of('persistence').level, 'warn');
  assert.match(of('persistence').setting!, /appendonly yes/);
  assert.equal(of('destination').level, 'error');
  assert.match(of('destination').setting!, /COLONY_DEST/);
  assert.equal(of('runtime').level, 'error');
  assert.match(of('runtime').message, /colony-kopy/);
  assert.match(of('runtime').setting!, /COLONY_LAMBDA_FUNCTION/);
  const runtime = (JSON.parse(good.stdout) as Doctor).findings.find((f) => f.check === 'runtime')!;
  assert.equal(runtime.level, 'ok', runtime.message);
  assert.equal(lambda.invocations.length, 0, 'a dry run runs nothing');
});
