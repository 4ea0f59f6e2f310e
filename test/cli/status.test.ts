import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ReportDocument, StatusDocument } from '../../schemas/cli-output.js';
import { COLONY_BIN, collect, runColony, spawnColony } from '../helpers/cli.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/redis.js';

const prefix = uniquePrefix('status');
let dir: string;
let origin: Server;
let originUrl: string;
const serves: ChildProcess[] = [];

const env = () => ({
  REDIS_URL: TEST_REDIS_URL,
  COLONY_PREFIX: prefix,
  COLONY_BLOCK_MS: '100',
  // Liveness keys live min(10 s, this): a killed process is known dead within 2 s.
  COLONY_VISIBILITY_TIMEOUT_MS: '2000',
  COLONY_DEST: `file://${dir}/out`,
});

/** Gives a serve some work, so that each of its stages reads, and so joins its group. */
async function enqueue(name: string): Promise<void> {
  const catalog = join(dir, `${name}.json`);
  await writeFile(
    catalog,
    JSON.stringify([{ classId: name, manifestUrl: `${originUrl}/t/index.m3u8` }]),
  );
  const scan = await runColony(['scan', '--catalog', catalog], env());
  assert.equal(scan.code, 0, scan.stdout + scan.stderr);
}

async function status(): Promise<StatusDocument> {
  const run = await runColony(['status', '--json'], env());
  assert.equal(run.code, 0, run.stderr);
  return StatusDocument.parse(JSON.parse(run.stdout));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'colony-status-'));
  // A title whose second segment is gone.
  origin = createServer((req, res) => {
    if (req.url === '/t/index.m3u8') {
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
      res.end(
        '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\ns0.ts\n#EXTINF:4,\ns1.ts\n#EXT-X-ENDLIST\n',
      );
    } else if (req.url === '/t/s0.ts') res.writeHead(200).end('segment');
    else res.writeHead(404).end('gone');
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});

after(async () => {
  for (const s of serves) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
  await new Promise<void>((r) => origin.close(() => r()));
  await deletePrefix(TEST_REDIS_URL, prefix);
  await rm(dir, { recursive: true, force: true });
});

describe('colony status', () => {
  test('says why a class failed: its failed files with their reasons', async () => {
    const transfer = await runColony(['transfer', `${originUrl}/t/index.m3u8`, '-q'], env());
    assert.equal(transfer.code, 1, transfer.stderr);

    const text = await runColony(['status'], env());
    const doc = await status();

    assert.match(
      text.stdout,
      /^ {2}failed {7}\S+ {2}3\/3 files \(2 copied, 0 skipped, 1 failed\)/m,
    );
    assert.match(text.stdout, /^ {6}failed t\/s1\.ts: .*404/m);
    const c = doc.classes[0]!;
    assert.equal(c.status, 'failed');
    assert.deepEqual(
      c.failures.map((f) => f.path),
      ['t/s1.ts'],
    );
  });

  test('colony report says why a class failed too', async () => {
    const md = await runColony(['report'], env());
    const json = await runColony(['report', '--format', 'json'], env());

    assert.equal(md.code, 0, md.stderr);
    assert.match(md.stdout, /^## Failed files$/m);
    assert.match(md.stdout, /^- \S+: `t\/s1\.ts`: .*404$/m);
    const doc = ReportDocument.parse(JSON.parse(json.stdout));
    assert.deepEqual(
      doc.classes.flatMap((c) => c.failures.map((f) => f.path)),
      ['t/s1.ts'],
    );
  });

  test('lists every consumer group of each stream, not only the stages', async () => {
    const attach = await runColony(
      ['replay', '--stream', 'outcomes', '--group', 'downstream'],
      env(),
    );
    assert.equal(attach.code, 0, attach.stderr);

    const doc = await status();
    const text = await runColony(['status'], env());

    const downstream = doc.groups.find((g) => g.group === 'downstream');
    assert.equal(downstream?.stream, 'outcomes');
    assert.equal(downstream?.stage, undefined);
    assert.ok((downstream?.lag ?? 0) >= 1, JSON.stringify(downstream));
    assert.ok(doc.groups.some((g) => g.group === 'crawler' && g.stage === 'crawler'));
    assert.match(
      text.stdout,
      new RegExp(`^ {2}${prefix}:outcomes:\\S+ {2}downstream {2}pending 0`, 'm'),
    );
  });

  test(
    'status --watch redraws in place on a terminal until Ctrl-C',
    {
      skip: spawnSync('script', ['--version']).status !== 0 && 'script (util-linux) not installed',
    },
    async () => {
      const command = `timeout --preserve-status -s INT 3 ${process.execPath} ${COLONY_BIN} status --watch 1`;
      const child = spawn('script', ['-qfec', command, '/dev/null'], {
        env: { ...process.env, ...env() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const run = await collect(child, 30_000);

      assert.equal(run.code, 0, run.stdout);
      const frames = run.stdout.split('\x1b[H').slice(1);
      assert.ok(frames.length >= 2, run.stdout);
      for (const f of frames)
        assert.match(f, /^colony status {2}\S+ {2}\S+Z {2}every 1s\x1b\[K\r?\n/);
    },
  );

  test('status --watch into a pipe: whole snapshots one after another, no escape codes', async () => {
    const child = spawnColony(['status', '--watch', '1'], env());
    const run = collect(child, 30_000);
    let seen = '';
    await new Promise<void>((resolve) =>
      child.stdout!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.split(/^colony status /m).length - 1 >= 2) resolve();
      }),
    );
    child.kill('SIGINT');
    const { code, stdout } = await run;

    assert.equal(code, 0);
    assert.doesNotMatch(stdout, /\x1b/);
    assert.ok(stdout.split(/^colony status /m).length - 1 >= 2, stdout);
  });

  test('a cleanly stopped serve leaves no consumer behind', async () => {
    const { serve, done, mine } = await startServe('clean-stop');
    assert.ok(mine(await status()).every((c) => c.alive));

    serve.kill('SIGTERM');
    assert.equal((await done).code, 0);

    assert.deepEqual(mine(await status()), []);
  });

  test('a killed serve shows as dead, then is removed once it holds nothing', async () => {
    const { serve, done, mine } = await startServe('killed');

    serve.kill('SIGKILL');
    await done;

    const dead = await waitFor(
      async () => {
        const m = mine(await status());
        return m.length > 0 && m.every((c) => !c.alive) ? m : undefined;
      },
      30_000,
      'its consumers shown dead',
    );
    assert.ok(dead.every((c) => c.pending === 0));
    await waitFor(
      async () => (mine(await status()).length === 0 ? true : undefined),
      30_000,
      'its consumers removed',
    );
  });
});

/** A serve that has joined the three stage groups (each stage read a class of its own). */
async function startServe(classId: string) {
  const serve = spawnColony(['serve', '-q'], env());
  serves.push(serve);
  const done = collect(serve, 60_000);
  const mine = (d: StatusDocument) =>
    d.groups.flatMap((g) => g.consumers).filter((c) => c.name.includes(`:${serve.pid}:`));
  await enqueue(classId);
  await waitFor(
    async () => (mine(await status()).length >= 3 ? true : undefined),
    30_000,
    `serve ${serve.pid} consumers`,
  );
  return { serve, done, mine };
}
