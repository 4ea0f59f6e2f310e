import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runColony } from '../helpers/cli.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix } from '../helpers/redis.js';

// Issue 11 item 5, reproduced: one playlist used to exhaust the crawler's memory. `colony
// transfer` runs with a 512 MB heap, which the old crawl needed three times over for each of
// these (it died with "JavaScript heap out of memory"); with the limits of SPEC section 5 the
// class fails with the reason, and the process exits normally.
const HEAP_MB = 512;
const playlists: Record<string, string> = {};

/** A 4 MB playlist: one EXT-X-DEFINE of 900 characters used in 400,000 lines (360 MB expanded). */
function defineBomb(): string {
  const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:4'];
  lines.push(`#EXT-X-DEFINE:NAME="p",VALUE="${'a'.repeat(900)}"`);
  for (let i = 0; i < 400_000; i++) lines.push(`{$p}${i}.ts`);
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

/** A 14 MB playlist of 2.6 million tiny names. */
function tinyNames(): string {
  const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:4'];
  for (let i = 0; i < 2_600_000; i++) lines.push(i.toString(36));
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

let server: Server;
let origin: string;
const prefixes: string[] = [];
const dirs: string[] = [];

before(async () => {
  playlists['/bomb/index.m3u8'] = defineBomb();
  playlists['/tiny/index.m3u8'] = tinyNames();
  server = createServer((req, res) => {
    const body = playlists[req.url ?? ''];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function transfer(path: string) {
  const prefix = uniquePrefix('limits');
  prefixes.push(prefix);
  const out = await mkdtemp(join(tmpdir(), 'colony-limits-'));
  dirs.push(out);
  const run = await runColony(
    ['transfer', `${origin}${path}`, '--dest', `file://${out}`, '--json'],
    {
      REDIS_URL: TEST_REDIS_URL,
      COLONY_PREFIX: prefix,
      NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}`,
    },
  );
  return { run, out };
}

const cases: [string, string, RegExp][] = [
  [
    'an EXT-X-DEFINE expanded 400,000 times',
    '/bomb/index.m3u8',
    /the playlists of this class amount to more than 268435456 bytes with their variables substituted, at .*\/bomb\/index\.m3u8 line \d+ \(COLONY_MAX_CRAWL_BYTES\)/,
  ],
  [
    '2.6 million tiny names',
    '/tiny/index.m3u8',
    /more than 1000000 files in one class \(COLONY_MAX_FILES_PER_CLASS\)/,
  ],
];

for (const [name, path, reason] of cases) {
  test(`a playlist of ${name} fails its class with the reason within a ${HEAP_MB} MB heap`, async () => {
    const { run, out } = await transfer(path);

    const context = `exit ${run.code} ${run.signal ?? ''}; stderr: ${run.stderr.slice(-2000)}`;
    assert.doesNotMatch(run.stderr, /heap out of memory/i, context);
    assert.equal(run.code, 1, context);
    const report = JSON.parse(run.stdout) as {
      classes: { status: string; failures: { reason: string }[] }[];
    };
    assert.equal(report.classes[0]?.status, 'failed', context);
    assert.match(report.classes[0]!.failures[0]!.reason, reason);
    assert.deepEqual(await readdir(out), [], 'nothing was copied');
  });
}
