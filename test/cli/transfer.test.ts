import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startSampleOrigin, segmentBytes, type SampleOrigin } from '../../cli/sample-origin.js';
import { collect, runColony, spawnColony } from '../helpers/cli.js';
import { HLS_ROOT, expectedFixtures } from '../helpers/fixtures.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/redis.js';
import { startS3, type TestS3 } from '../helpers/s3.js';

type Report = {
  classes: {
    classId: string;
    manifestUrl: string;
    status: string;
    files: number;
    copied: number;
    skipped: number;
    failed: number;
    bytes: number;
    failures: { path: string; reason: string }[];
  }[];
};

const fixtures = expectedFixtures();
const prefixes: string[] = [];
const dirs: string[] = [];
let origin: SampleOrigin;

function env(extra: Record<string, string> = {}) {
  const prefix = uniquePrefix('cli');
  prefixes.push(prefix);
  return { REDIS_URL: TEST_REDIS_URL, COLONY_PREFIX: prefix, ...extra };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'colony-out-'));
  dirs.push(dir);
  return dir;
}

before(async () => {
  origin = await startSampleOrigin({ root: HLS_ROOT });
});

after(async () => {
  await origin.close();
  for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('colony transfer end to end', () => {
  test('copies every fixture over HTTP to file:// byte for byte, with the SPEC report', async () => {
    // Prepare
    const out = await tempDir();
    const manifests = Object.values(fixtures).map((f) => `${origin.url}/hls/${f.manifest}`);

    // Act
    const run = await runColony(
      ['transfer', ...manifests, '--dest', `file://${out}`, '--source-base', 'hls', '--json'],
      env(),
    );

    // Assess
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as Report;
    assert.equal(report.classes.length, manifests.length);
    for (const [name, f] of Object.entries(fixtures)) {
      const c = report.classes.find((r) => r.manifestUrl.endsWith(`/hls/${f.manifest}`));
      assert.ok(c, `no report for ${name}`);
      assert.equal(c.status, 'transferred', name);
      assert.equal(c.files, f.files.length, `${name}: files tracked`);
      assert.equal(c.copied + c.skipped + c.failed, c.files);
      assert.deepEqual(c.failures, []);
      let bytes = 0;
      for (const file of f.files) {
        const [want, got] = await Promise.all([
          readFile(join(HLS_ROOT, file)),
          readFile(join(out, file)),
        ]);
        assert.ok(want.equals(got), `${file} differs`);
        bytes += want.length;
      }
      assert.equal(c.bytes, bytes, `${name}: bytes`);
    }
  });

  test('copies a fixture to S3 (s3rver) byte for byte, comparing sizes and bytes, not a 200', async (t) => {
    // Prepare
    const s3: TestS3 = await startS3(['library']);
    t.after(() => s3.close());
    const f = fixtures['fmp4-audio-subs']!;

    // Act
    const run = await runColony(
      [
        'transfer',
        `${origin.url}/hls/${f.manifest}`,
        '--dest',
        's3://library/copies',
        '--source-base',
        'hls',
        '--json',
      ],
      env(s3.env),
    );

    // Assess
    assert.equal(run.code, 0, run.stderr);
    const stored = await s3.list('library', 'copies/');
    assert.deepEqual(stored, f.files.map((p) => `copies/${p}`).sort());
    for (const file of f.files) {
      const [want, got] = await Promise.all([
        readFile(join(HLS_ROOT, file)),
        s3.get('library', `copies/${file}`),
      ]);
      assert.equal(got?.length, want.length, `${file}: size`);
      assert.ok(want.equals(got!), `${file}: bytes`);
    }
  });

  test('a second run reports a finished class as it stands and copies nothing again', async () => {
    // Prepare
    const out = await tempDir();
    const e = env();
    const manifest = `${origin.url}/hls/${fixtures['ts-multivariant']!.manifest}`;
    const first = await runColony(['transfer', manifest, '--dest', `file://${out}`, '--json'], e);
    assert.equal(first.code, 0, first.stderr);
    const fetchedBefore = [...origin.requests.values()].reduce((a, b) => a + b, 0);

    // Act
    const second = await runColony(['transfer', manifest, '--dest', `file://${out}`, '--json'], e);

    // Assess
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), JSON.parse(first.stdout));
    assert.equal(
      [...origin.requests.values()].reduce((a, b) => a + b, 0),
      fetchedBefore,
    );
  });

  test('a class with a missing segment fails, names the file, and exits 1', async (t) => {
    // Prepare: a library whose variant names a segment the origin does not have.
    const broken = await startSampleOrigin({
      synthetic: { classes: 1, variants: 1, segmentsPerVariant: 3, segmentBytes: 10 },
    });
    t.after(() => broken.close());
    const out = await tempDir();
    const { createServer } = await import('node:http');
    const proxy = createServer((req, res) => {
      if (req.url?.endsWith('s1.ts')) return res.writeHead(404).end('gone');
      fetch(`${broken.url}${req.url}`).then(async (r) => {
        res.writeHead(r.status, {
          'content-type': r.headers.get('content-type') ?? 'application/octet-stream',
        });
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    t.after(
      () =>
        new Promise<void>((r) => {
          proxy.closeAllConnections();
          proxy.close(() => r());
        }),
    );
    const port = (proxy.address() as { port: number }).port;

    // Act
    const run = await runColony(
      [
        'transfer',
        `http://127.0.0.1:${port}/synthetic/c0/master.m3u8`,
        '--dest',
        `file://${out}`,
        '--json',
      ],
      env(),
    );

    // Assess
    assert.equal(run.code, 1);
    const c = (JSON.parse(run.stdout) as Report).classes[0]!;
    assert.equal(c.status, 'failed');
    assert.equal(c.files, 1 + 1 + 3);
    assert.equal(c.failed, 1);
    assert.equal(c.copied, 4);
    assert.equal(c.failures[0]!.path, 'synthetic/c0/v0/s1.ts');
    assert.match(c.failures[0]!.reason, /404/);
    assert.match(run.stderr, /synthetic\/c0\/v0\/s1\.ts/);
  });
});

describe('colony transfer resumes after kill -9', () => {
  test('a run killed half way finishes on the next run, each file counted once', async (t) => {
    // Prepare: ~2,000 files served slowly enough to kill the run mid-way.
    const lib = { classes: 1, variants: 4, segmentsPerVariant: 500, segmentBytes: 2000 };
    const slow = await startSampleOrigin({ synthetic: lib, segmentDelayMs: 2 });
    t.after(() => slow.close());
    const out = await tempDir();
    const e = env({
      COLONY_VISIBILITY_TIMEOUT_MS: '2000',
      COLONY_CONCURRENCY: '8',
      COLONY_BATCH_SIZE: '20',
    });
    const manifest = `${slow.url}/synthetic/c0/master.m3u8`;
    const total = 1 + lib.variants * (1 + lib.segmentsPerVariant);
    const redis = new Redis(TEST_REDIS_URL);
    t.after(() => redis.disconnect());

    // Act: kill -9 once some hundreds of files are done, then run the same command again.
    const first = spawnColony(['transfer', manifest, '--dest', `file://${out}`, '--json'], e);
    const firstDone = collect(first, 60_000);
    const doneAtKill = await waitFor(
      async () => {
        const keys = await redis.keys(`${e.COLONY_PREFIX}:{class:*}:meta`);
        if (!keys[0]) return undefined;
        const done = Number(await redis.hget(keys[0], 'done'));
        return done >= 300 ? done : undefined;
      },
      30_000,
      'first run to copy 300 files',
    );
    first.kill('SIGKILL');
    await firstDone;
    const second = await runColony(
      ['transfer', manifest, '--dest', `file://${out}`, '--json'],
      e,
      90_000,
    );

    // Assess
    assert.ok(doneAtKill < total, 'the first run was killed before it finished');
    assert.equal(second.code, 0, second.stderr);
    const c = (JSON.parse(second.stdout) as Report).classes[0]!;
    assert.equal(c.status, 'transferred');
    assert.equal(c.files, total);
    assert.equal(c.copied + c.skipped, total);
    assert.equal(c.failed, 0);
    for (let v = 0; v < lib.variants; v++) {
      for (const s of [0, 250, 499]) {
        const path = `synthetic/c0/v${v}/s${s}.ts`;
        assert.ok(
          (await readFile(join(out, path))).equals(
            segmentBytes(`c0/v${v}/s${s}.ts`, lib.segmentBytes),
          ),
          path,
        );
      }
    }
    // Nothing done is redone: only what was in flight at the kill is fetched twice.
    const segmentFetches = [...slow.requests]
      .filter(([p]) => p.endsWith('.ts'))
      .reduce((a, [, n]) => a + n, 0);
    assert.ok(
      segmentFetches <= lib.variants * lib.segmentsPerVariant + 100,
      `${segmentFetches} segment fetches`,
    );
  });
});

describe('colony transfer input errors', () => {
  const cases: [string, string[], Record<string, string>, RegExp, number][] = [
    ['no manifest', ['transfer', '--dest', 'file:///tmp/x'], {}, /manifest/, 2],
    ['no destination', ['transfer', 'http://127.0.0.1:9/a.m3u8'], {}, /--dest/, 2],
    [
      'bad destination',
      ['transfer', 'http://127.0.0.1:9/a.m3u8', '--dest', 'ftp://x/y'],
      {},
      /--dest.*s3:\/\/bucket/,
      2,
    ],
    [
      'relative file destination',
      ['transfer', 'http://127.0.0.1:9/a.m3u8', '--dest', 'file://rel/dir'],
      {},
      /--dest/,
      2,
    ],
    [
      'bad manifest URL',
      ['transfer', 'not-a-url', '--dest', 'file:///tmp/x'],
      {},
      /manifest URL/,
      2,
    ],
    ['unknown option', ['transfer', '--frobnicate'], {}, /unknown option '--frobnicate'/i, 2],
    [
      'bad concurrency',
      ['transfer', 'http://127.0.0.1:9/a.m3u8', '--dest', 'file:///tmp/x', '--concurrency', 'lots'],
      {},
      /--concurrency/,
      2,
    ],
    ['bad environment variable', ['status'], { COLONY_BATCH_SIZE: '5000' }, /COLONY_BATCH_SIZE/, 2],
    ['bad REDIS_URL scheme', ['status'], { REDIS_URL: 'http://127.0.0.1:6379' }, /REDIS_URL/, 2],
    [
      'unreachable Redis',
      ['transfer', 'http://127.0.0.1:9/a.m3u8', '--dest', 'file:///tmp/x'],
      { REDIS_URL: 'redis://127.0.0.1:1' },
      /cannot reach Redis at redis:\/\/127\.0\.0\.1:1.*REDIS_URL/,
      1,
    ],
    ['unknown command', ['teleport'], {}, /unknown command/, 2],
  ];
  for (const [name, args, extra, message, code] of cases) {
    test(`${name}: one clear line, no stack trace`, async () => {
      const run = await runColony(args, { REDIS_URL: TEST_REDIS_URL, ...extra }, 20_000);
      assert.equal(run.code, code, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.doesNotMatch(run.stderr, /\n\s+at /);
    });
  }

  test('--help explains the command', async () => {
    const run = await runColony(['transfer', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Usage: colony transfer <manifestUrl>\.\.\. --dest <url>/);
    assert.match(run.stdout, /Exit status/);
  });
});

const execFileAsync = promisify(execFile);

describe('the copy plays', () => {
  // ffprobe is on developer machines (scripts/make-fixtures.sh needs it), not necessarily in CI.
  const ffprobe = spawnSync('ffprobe', ['-version']).error === undefined;
  test(
    'ffprobe reads every copied title from the destination served over HTTP',
    { skip: !ffprobe && 'ffprobe not installed' },
    async (t) => {
      // Prepare: copy every fixture, then serve the destination as an origin of its own.
      const out = await tempDir();
      const manifests = Object.values(fixtures).map((f) => `${origin.url}/hls/${f.manifest}`);
      const run = await runColony(
        ['transfer', ...manifests, '--dest', `file://${out}`, '--source-base', 'hls'],
        env(),
      );
      assert.equal(run.code, 0, run.stderr);
      const copy = await startSampleOrigin({ root: out });
      t.after(() => copy.close());

      // Act / Assess: ffprobe finds a duration for each title read from the copy. Not spawnSync:
      // the origin serving the copy runs in this process and must keep answering.
      for (const [name, f] of Object.entries(fixtures)) {
        const args = [
          '-v',
          'error',
          '-allowed_extensions',
          'ALL',
          '-show_entries',
          'format=duration',
        ];
        args.push('-of', 'csv=p=0', `${copy.url}/hls/${f.manifest}`);
        const probe = await execFileAsync('ffprobe', args, {
          encoding: 'utf8',
          timeout: 30_000,
        }).catch((err: { stderr?: string; message: string }) =>
          assert.fail(`${name}: ${err.stderr ?? err.message}`),
        );
        assert.ok(Number(probe.stdout.trim()) > 0, `${name}: duration ${probe.stdout}`);
      }
    },
  );
});
