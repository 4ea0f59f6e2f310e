import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startSampleOrigin, type SampleOrigin } from '../../cli/sample-origin.js';
import { COLONY_BIN, collect, runColony, type CliResult } from '../helpers/cli.js';
import { HLS_ROOT, expectedFixtures } from '../helpers/fixtures.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/redis.js';
import { StatusDocument } from '../../schemas/cli-output.js';
import { startS3, type TestS3 } from '../helpers/s3.js';

// A transfer that cannot work says why in one line within seconds, and enqueues nothing: the
// destination and the manifests are checked before anything is requested. The bound is the kill
// timeout of each run (far above what the checks need, far below the 80 s a crawl's redeliveries
// took before).
const BOUND_MS = 20_000;

const fixtures = expectedFixtures();
const prefixes: string[] = [];
let origin: SampleOrigin;
let dir: string;
let redis: Redis;

function env(extra: Record<string, string | undefined> = {}) {
  const prefix = uniquePrefix('fast');
  prefixes.push(prefix);
  return { REDIS_URL: TEST_REDIS_URL, COLONY_PREFIX: prefix, ...extra };
}

before(async () => {
  origin = await startSampleOrigin({ root: HLS_ROOT });
  dir = await mkdtemp(join(tmpdir(), 'colony-fast-'));
  redis = new Redis(TEST_REDIS_URL);
});

after(async () => {
  await origin.close();
  redis.disconnect();
  for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
  await rm(dir, { recursive: true, force: true });
});

/** Exit 1 within the bound, one line on stderr matching `line`, and no key under the prefix. */
async function assertFailsFast(run: CliResult, prefix: string, line: RegExp): Promise<void> {
  assert.equal(run.signal, null, `killed after ${BOUND_MS} ms: ${run.stderr}`);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr.trim(), line);
  const [, keys] = await redis.scan('0', 'MATCH', `${prefix}:*`, 'COUNT', 1000);
  assert.deepEqual(keys, [], 'nothing enqueued');
}

const manifest = () => `${origin.url}/hls/${fixtures['ts-multivariant']!.manifest}`;

describe('a transfer that cannot work fails at once with the cause', () => {
  test('a dead origin (connection refused)', async () => {
    const e = env();
    const run = await runColony(
      ['transfer', 'http://127.0.0.1:1/master.m3u8', '--dest', join(dir, 'out')],
      e,
      BOUND_MS,
    );
    await assertFailsFast(
      run,
      e.COLONY_PREFIX,
      /^colony: cannot read the manifest http:\/\/127\.0\.0\.1:1\/master\.m3u8: .*ECONNREFUSED/,
    );
  });

  test('a missing manifest (404)', async () => {
    const e = env();
    const run = await runColony(
      ['transfer', `${origin.url}/hls/no-such/master.m3u8`, '--dest', join(dir, 'out')],
      e,
      BOUND_MS,
    );
    await assertFailsFast(run, e.COLONY_PREFIX, /^colony: cannot read the manifest .*404/);
  });

  const unshare = spawnSync('unshare', ['--mount', 'true']).status === 0;
  test(
    'an unresolvable host',
    { skip: !unshare && 'needs unshare --mount (root) to resolve names from /etc/hosts only' },
    async () => {
      // Names are resolved from files only, in a mount namespace of the run's own: the lookup
      // fails at once and no DNS query leaves the machine.
      const nss = join(dir, 'nsswitch.conf');
      await writeFile(nss, 'hosts: files\n');
      const e = env();
      const child = spawn(
        'unshare',
        [
          '--mount',
          'sh',
          '-c',
          'mount --bind "$0" /etc/nsswitch.conf && exec "$@"',
          nss,
          process.execPath,
          COLONY_BIN,
          'transfer',
          'http://no-such-host.invalid/master.m3u8',
          '--dest',
          join(dir, 'out'),
        ],
        { env: { ...process.env, ...e }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      await assertFailsFast(
        await collect(child, BOUND_MS),
        e.COLONY_PREFIX,
        /^colony: cannot read the manifest http:\/\/no-such-host\.invalid\/master\.m3u8: .*ENOTFOUND/,
      );
    },
  );

  test('a regular file as the file:// root', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const e = env();
    const run = await runColony(['transfer', manifest(), '--dest', `file://${file}`], e, BOUND_MS);
    await assertFailsFast(
      run,
      e.COLONY_PREFIX,
      /^colony: cannot write to file:\/\/.*a-file: .*ENOTDIR/,
    );
  });

  test('a directory procfs will not create (Node recursive mkdir spins there)', async () => {
    const e = env();
    const run = await runColony(
      ['transfer', manifest(), '--dest', 'file:///proc/nope'],
      e,
      BOUND_MS,
    );
    await assertFailsFast(
      run,
      e.COLONY_PREFIX,
      /^colony: cannot write to file:\/\/\/proc\/nope: .*cannot create directories in \/proc/,
    );
  });

  test('S3 without credentials', async (t) => {
    const s3: TestS3 = await startS3(['library']);
    t.after(() => s3.close());
    const e = env({
      ...s3.env,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      // No instance metadata (not loopback) and no shared files: the default chain has nothing.
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
      AWS_CONFIG_FILE: join(dir, 'none'),
    });
    const run = await runColony(['transfer', manifest(), '--dest', 's3://library/x'], e, BOUND_MS);
    await assertFailsFast(
      run,
      e.COLONY_PREFIX,
      /^colony: cannot write to s3:\/\/library\/x: .*credentials/i,
    );
    assert.deepEqual(await s3.list('library'), [], 'no probe left behind');
  });

  test('a bucket that answers 403', async (t) => {
    const denied: Server = createServer((req, res) => {
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
      );
    });
    await new Promise<void>((r) => denied.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => denied.close(() => r())));
    const e = env({
      COLONY_S3_ENDPOINT: `http://127.0.0.1:${(denied.address() as AddressInfo).port}`,
      COLONY_S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'someone',
      AWS_SECRET_ACCESS_KEY: 'else',
      AWS_REGION: 'us-east-1',
    });
    const run = await runColony(['transfer', manifest(), '--dest', 's3://library/x'], e, BOUND_MS);
    await assertFailsFast(
      run,
      e.COLONY_PREFIX,
      /^colony: cannot write to s3:\/\/library\/x: PUT s3:\/\/library\/x\/_colony\/probe\/\S+ failed: AccessDenied \(HTTP 403\)/,
    );
  });

  test('under serve, a class whose origin is dead fails with the cause, not only a delivery count', async (t) => {
    const e = env({
      COLONY_DEST: `file://${join(dir, 'serve-out')}`,
      COLONY_BLOCK_MS: '100',
      COLONY_MAX_DELIVERIES: '1',
      COLONY_VISIBILITY_TIMEOUT_MS: '1000',
    });
    const catalog = join(dir, 'dead-origin.json');
    await writeFile(
      catalog,
      JSON.stringify([{ classId: 'dead-origin', manifestUrl: 'http://127.0.0.1:1/master.m3u8' }]),
    );
    assert.equal((await runColony(['scan', '--catalog', catalog], e)).code, 0);
    const serve = spawn(process.execPath, [COLONY_BIN, 'serve', '-q'], {
      env: { ...process.env, ...e },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const served = collect(serve, 90_000);
    t.after(async () => {
      if (serve.exitCode === null) serve.kill('SIGKILL');
      await served;
    });

    const reason = await waitFor(
      async () => {
        const run = await runColony(['status', 'dead-origin', '--json'], e);
        const c = StatusDocument.parse(JSON.parse(run.stdout)).classes[0];
        return c?.status === 'failed' ? c.failures[0]?.reason : undefined;
      },
      60_000,
      'the class to fail',
    );

    assert.match(reason, /^crawl did not finish: .*ECONNREFUSED.* \(delivered \d+ times/);
  });
});
