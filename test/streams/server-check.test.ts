import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { startLocalRedis } from '../../cli/local-redis.js';
import { inspectNode, inspectRedis, judgeNode, verifyRedis } from '../../streams/server-check.js';
import { runColony } from '../helpers/cli.js';
import { uniquePrefix } from '../helpers/redis.js';

const TIMEOUT = { timeout: 60_000 };

test('an evicting Redis is refused at start, naming the setting', TIMEOUT, async (t) => {
  // Prepare: a server that may evict under memory pressure.
  const redis = await startLocalRedis({
    args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'],
  });
  t.after(() => redis.stop());

  // Act
  const checked = await verifyRedis(redis.url).then(
    () => undefined,
    (err: Error) => err,
  );
  const env = { REDIS_URL: redis.url, COLONY_PREFIX: uniquePrefix('evict') };
  const transfer = await runColony(
    ['transfer', 'http://127.0.0.1:9/a.m3u8', '--dest', 'file:///tmp/colony-unused'],
    env,
    20_000,
  );
  const serve = await runColony(['serve', '--stages', 'transfer'], env, 20_000);

  // Assess: refused before anything is written, one line naming the setting.
  assert.match(String(checked), /maxmemory-policy allkeys-lru/);
  assert.match(String(checked), /set maxmemory-policy noeviction/);
  for (const run of [transfer, serve]) {
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /maxmemory-policy allkeys-lru.*set maxmemory-policy noeviction/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  }
  const raw = new Redis(redis.url);
  t.after(() => raw.disconnect());
  assert.equal((await raw.keys(`${env.COLONY_PREFIX}:*`)).length, 0, 'nothing was written');
});

test('noeviction with AOF everysec passes, and persistence is reported', TIMEOUT, async (t) => {
  // Prepare
  const redis = await startLocalRedis({
    args: ['--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction'],
  });
  t.after(() => redis.stop());
  const warnings: string[] = [];

  // Act
  const report = await verifyRedis(redis.url, { report: (f) => warnings.push(f.message) });

  // Assess
  assert.equal(report.cluster, false);
  assert.equal(report.nodes[0]!.aof, true);
  assert.equal(report.nodes[0]!.appendfsync, 'everysec');
  assert.deepEqual(warnings, []);
  const persistence = report.findings.find((f) => f.check === 'persistence');
  assert.equal(persistence?.level, 'ok');
  assert.match(persistence!.message, /appendfsync everysec: .*last second/);
});

test('no persistence at all is a warning naming appendonly', TIMEOUT, async (t) => {
  // Prepare: startLocalRedis runs without AOF and without RDB snapshots.
  const redis = await startLocalRedis();
  t.after(() => redis.stop());
  const warnings: string[] = [];

  // Act
  const report = await verifyRedis(redis.url, { report: (f) => warnings.push(f.message) });

  // Assess
  const persistence = report.findings.find((f) => f.check === 'persistence')!;
  assert.equal(persistence.level, 'warn');
  assert.match(persistence.message, /no AOF and no RDB/);
  assert.match(persistence.setting ?? '', /appendonly yes/);
  assert.equal(warnings.length, 1);
});

test(
  'a server older than 6.2 is refused; the version is read from the server',
  TIMEOUT,
  async (t) => {
    // Prepare: the real facts of a running server, as an older one would report them.
    const redis = await startLocalRedis();
    t.after(() => redis.stop());
    const conn = new Redis(redis.url);
    t.after(() => conn.disconnect());
    const facts = await inspectNode(conn, 'test');

    // Act
    const current = judgeNode(facts).find((f) => f.check === 'version')!;
    const old = judgeNode({ ...facts, version: '6.0.16' }).find((f) => f.check === 'version')!;
    const newer = judgeNode({ ...facts, version: '10.0.0' }).find((f) => f.check === 'version')!;

    // Assess
    assert.match(facts.version, /^\d+\.\d+\.\d+/);
    assert.equal(current.level, 'ok');
    assert.equal(old.level, 'error');
    assert.match(old.message, /6\.0\.16.*6\.2 or newer/);
    assert.equal(newer.level, 'ok');
    assert.equal((await inspectRedis(redis.url)).cluster, false);
  },
);
