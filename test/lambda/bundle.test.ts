import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { unzipSync } from 'fflate';
import type { CopyInvocationInput } from '../../schemas/lambda.js';
import { startS3 } from '../helpers/s3.js';
import { startTestOrigin } from '../copy/test-origin.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ZIP = path.join(ROOT, 'lambda', 'dist', 'colony-lambda.zip');

// Loads the unpacked bundle the way the Lambda runtime does (an ES module exporting `handler`),
// runs one invocation and prints its answer.
const RUNNER = `
const { handler } = await import(process.argv[2]);
const event = JSON.parse(process.argv[3]);
const result = await handler(event, { getRemainingTimeInMillis: () => 60000 });
process.stdout.write(JSON.stringify(result));
`;

test(
  'npm run bundle:lambda builds a zip whose index.mjs runs the handler in a fresh node process',
  { timeout: 120_000 },
  async (t) => {
    // Prepare
    const s3 = await startS3(['bundle-dst']);
    t.after(() => s3.close());
    const seg = randomBytes(50_000);
    const origin = await startTestOrigin({
      '/c/seg.ts': { body: seg },
      '/c/index.m3u8': { body: Buffer.from('#EXTM3U\n') },
    });
    t.after(() => origin.close());
    const unpacked = await mkdtemp(path.join(tmpdir(), 'colony-bundle-'));
    t.after(() => rm(unpacked, { recursive: true, force: true }));

    // Act 1: bundle.
    await run('npm', ['run', '--silent', 'bundle:lambda'], { cwd: ROOT, timeout: 90_000 });
    const entries = unzipSync(await readFile(ZIP));
    for (const [name, bytes] of Object.entries(entries))
      await writeFile(path.join(unpacked, name), bytes);

    // Act 2: run it, far from the repository's node_modules.
    const event: CopyInvocationInput = {
      v: 1,
      classId: 'bundled',
      run: 1,
      dest: 's3://bundle-dst/out',
      files: [
        { ordinal: 0, url: `${origin.url}/c/seg.ts`, key: 'c/seg.ts' },
        { ordinal: 1, url: `${origin.url}/c/index.m3u8`, key: 'c/index.m3u8' },
        { ordinal: 2, url: `${origin.url}/c/missing.ts`, key: 'c/missing.ts' },
      ],
      attempts: 2,
      timeoutMs: 5000,
      concurrency: 2,
      s3: { endpoint: s3.endpoint, forcePathStyle: true },
    };
    const runner = path.join(unpacked, 'run.mjs');
    await writeFile(runner, RUNNER);
    const { stdout } = await run(
      process.execPath,
      [runner, path.join(unpacked, 'index.mjs'), JSON.stringify(event)],
      {
        cwd: unpacked,
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? '', HOME: unpacked, ...s3.env, NODE_NO_WARNINGS: '1' },
      },
    );

    // Assess
    assert.deepEqual(Object.keys(entries), ['index.mjs']);
    assert.ok((await stat(ZIP)).size < 1024 * 1024, 'the zip stays under 1 MiB');
    assert.deepEqual((await readdir(unpacked)).sort(), ['index.mjs', 'run.mjs']);
    const { results } = JSON.parse(stdout) as {
      results: { status: string; md5?: string; code?: string }[];
    };
    assert.deepEqual(
      results.map((r) => r.status),
      ['copied', 'copied', 'failed'],
    );
    assert.equal(results[0]?.md5, createHash('md5').update(seg).digest('hex'));
    assert.equal(results[2]?.code, 'E_SOURCE_PERMANENT');
    assert.ok((await s3.get('bundle-dst', 'out/c/seg.ts'))?.equals(seg));
  },
);

test('the deployment template and IAM policy match the bundle and grant only what the copies need', async () => {
  // Prepare
  const template = await readFile(path.join(ROOT, 'lambda', 'template.yaml'), 'utf8');
  const policy = JSON.parse(
    await readFile(path.join(ROOT, 'lambda', 'iam-policy.json'), 'utf8'),
  ) as {
    Statement: { Action: string | string[]; Resource: string }[];
  };

  // Act
  const actions = policy.Statement.flatMap((s) =>
    Array.isArray(s.Action) ? s.Action : [s.Action],
  );

  // Assess
  assert.match(template, /CodeUri: dist\/colony-lambda\.zip/);
  assert.match(template, /Handler: index\.handler/);
  assert.match(template, /Runtime: nodejs22\.x/);
  assert.deepEqual(actions.sort(), [
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    's3:AbortMultipartUpload',
    's3:GetObject',
    's3:GetObject',
    's3:ListBucket',
    's3:ListMultipartUploadParts',
    's3:PutObject',
  ]);
  assert.ok(
    policy.Statement.every((s) => !s.Resource.endsWith(':::*') && s.Resource !== '*'),
    'no wildcard resource',
  );
});
