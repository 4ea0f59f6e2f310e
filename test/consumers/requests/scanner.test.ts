import assert from 'node:assert/strict';
import { readFile, readdir, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { discoverMasters } from '../../../consumers/requests/discovery.js';
import {
  CatalogError,
  parseCatalog,
  readCatalog,
  scanCatalog,
  scanSummary,
} from '../../../consumers/requests/scanner.js';
import { ClassStore } from '../../../streams/class-store.js';
import { Keys } from '../../../streams/keys.js';
import { Publisher } from '../../../streams/publisher.js';
import type { ColonyRedis } from '../../../streams/redis.js';
import { HLS_ROOT, expectedFixtures } from '../../helpers/fixtures.js';
import { TEST_REDIS_URL, deletePrefix, testRedis, uniquePrefix } from '../../helpers/redis.js';
import { S3RVER_CREDENTIALS, startS3 } from '../../helpers/s3.js';

let redis: ColonyRedis;
let server: Server;
let base: string;
const prefixes: string[] = [];
const DEST = 'file:///tmp/colony-scan-dest';

const catalog = [
  {
    classId: 'yoga-1',
    manifestUrl: 'https://cdn.example.com/yoga-1/master.m3u8',
    title: 'Yoga',
    version: 1,
  },
  { classId: 'test-class', manifestUrl: 'https://cdn.example.com/t/master.m3u8', test: true },
  { classId: 'aborted-class', manifestUrl: 'https://cdn.example.com/a/master.m3u8', aborted: true },
  { classId: 'bad id', manifestUrl: 'ftp://cdn.example.com/x.m3u8' },
  { classId: 'spin-2', manifestUrl: 'https://cdn.example.com/spin-2/master.m3u8' },
];

before(async () => {
  redis = await testRedis();
  server = createServer((req, res) => {
    if (req.url === '/catalog.ndjson') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(catalog.map((c) => JSON.stringify(c)).join('\n'));
    } else if (req.url?.startsWith('/library/')) {
      autoindex(req.url.slice('/library/'.length)).then(
        (body) => {
          res.writeHead(200);
          res.end(body);
        },
        () => {
          res.writeHead(404);
          res.end();
        },
      );
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
  redis.disconnect();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** An nginx-style autoindex of the HLS fixtures: folders end in `/`, with a parent link. */
async function autoindex(path: string): Promise<string | Buffer> {
  const full = join(HLS_ROOT, decodeURIComponent(path));
  if (!(await stat(full)).isDirectory()) return readFile(full);
  const entries = await readdir(full, { withFileTypes: true });
  const links = entries.map(
    (e) => `<a href="${e.name}${e.isDirectory() ? '/' : ''}">${e.name}</a>`,
  );
  return `<html><body><a href="../">../</a>\n${links.join('\n')}<a href="https://elsewhere.example/x.m3u8">x</a></body></html>`;
}

/** The fixtures whose entry playlist is a master playlist (names variants or renditions). */
async function masterFixtures(): Promise<string[]> {
  const out: string[] = [];
  for (const f of Object.values(expectedFixtures())) {
    if (/#EXT-X-(STREAM-INF|MEDIA):/.test(await readFile(join(HLS_ROOT, f.manifest), 'utf8')))
      out.push(f.manifest);
  }
  return out.sort();
}

function deps() {
  const prefix = uniquePrefix('scan');
  prefixes.push(prefix);
  const keys = new Keys(prefix);
  return { keys, classes: new ClassStore(redis, keys), publisher: new Publisher(redis, keys) };
}

describe('parseCatalog', () => {
  test('a JSON array, an object with classes, and NDJSON with a broken line', () => {
    assert.equal(parseCatalog(JSON.stringify(catalog)).length, 5);
    assert.equal(parseCatalog(JSON.stringify({ classes: catalog })).length, 5);
    const ndjson = parseCatalog(
      `${JSON.stringify(catalog[0])}\n\n{not json\n${JSON.stringify(catalog[4])}\n`,
    );
    assert.deepEqual(
      ndjson.map((r) => r.number),
      [1, 3, 4],
    );
    assert.deepEqual(ndjson[1], { number: 3, error: 'not JSON' });
  });

  test('an empty catalog or a classes field that is not an array is refused whole', () => {
    assert.throws(() => parseCatalog('  \n'), CatalogError);
    assert.throws(() => parseCatalog('{"classes": 5}'), CatalogError);
    assert.throws(() => parseCatalog('42'), CatalogError);
  });
});

describe('scanCatalog', () => {
  test('skips test, aborted and invalid records with the reason, enqueues the rest once', async () => {
    // Prepare
    const d = deps();
    const records = parseCatalog(JSON.stringify({ classes: catalog }));

    // Act: the same catalog twice.
    const first = await scanCatalog(d, records, { dest: DEST });
    const second = await scanCatalog(d, records, { dest: DEST });

    // Assess
    assert.deepEqual(
      first.map((i) => [i.record, i.action]),
      [
        [1, 'enqueued'],
        [2, 'skipped'],
        [3, 'skipped'],
        [4, 'skipped'],
        [5, 'enqueued'],
      ],
    );
    assert.equal(first[1]!.reason, 'test class');
    assert.equal(first[2]!.reason, 'aborted class');
    assert.match(first[3]!.reason!, /^invalid record: classId: .*; manifestUrl: /);
    assert.deepEqual(
      second.map((i) => i.action),
      ['known', 'skipped', 'skipped', 'skipped', 'known'],
    );
    assert.equal(second[0]!.eventId, first[0]!.eventId);
    assert.deepEqual(scanSummary(second), {
      records: 5,
      enqueued: 0,
      known: 2,
      skipped: 3,
      invalid: 1,
    });
    const entries = await redis.xrange(d.keys.stream('classes'), '-', '+');
    assert.equal(entries.length, 2);
    const state = await d.classes.get('yoga-1');
    assert.equal(state?.dest, DEST);
    assert.equal(state?.title, 'Yoga');
  });

  test('reads an NDJSON catalog over HTTP; an unreachable catalog is one clear error', async () => {
    const d = deps();
    const items = await scanCatalog(d, parseCatalog(await readCatalog(`${base}/catalog.ndjson`)), {
      dest: DEST,
    });
    assert.deepEqual(scanSummary(items), {
      records: 5,
      enqueued: 2,
      known: 0,
      skipped: 3,
      invalid: 1,
    });
    await assert.rejects(readCatalog(`${base}/missing.json`), /HTTP 404/);
    await assert.rejects(readCatalog('/nonexistent/catalog.json'), /cannot read catalog .*ENOENT/);
  });
});

describe('discovery', () => {
  test('finds the master playlists of an HTTP directory listing, below the root and on its origin only', async () => {
    const want = await masterFixtures();
    assert.ok(want.length >= 3 && want.length < Object.keys(expectedFixtures()).length);

    const found = await discoverMasters(`${base}/library/`);

    assert.deepEqual(found.masters.map((u) => u.slice(`${base}/library/`.length)).sort(), want);
    assert.deepEqual(found.errors, []);
    await assert.rejects(discoverMasters(`${base}/nothing/`), /cannot read listing .*HTTP 404/);
  });

  test('finds the master playlists below an s3:// prefix, and scanning them enqueues each once', async (t) => {
    // Prepare
    const s3 = await startS3(['studio']);
    t.after(() => s3.close());
    const want = await masterFixtures();
    for (const f of Object.values(expectedFixtures())) {
      for (const file of f.files) {
        const body = await readFile(join(HLS_ROOT, file));
        await s3.client.send(
          new PutObjectCommand({ Bucket: 'studio', Key: `vod/${file}`, Body: body }),
        );
      }
    }
    await s3.client.send(
      new PutObjectCommand({
        Bucket: 'studio',
        Key: 'other/master.m3u8',
        Body: Buffer.from('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n'),
      }),
    );

    // Act
    const found = await discoverMasters('s3://studio/vod/', {
      s3: { endpoint: s3.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS },
    });
    const d = deps();
    const records = found.masters.map((manifestUrl, i) => ({
      number: i + 1,
      value: { classId: `c${i}`, manifestUrl },
    }));
    const first = await scanCatalog(d, records, { dest: DEST });
    const second = await scanCatalog(d, records, { dest: DEST });

    // Assess
    assert.deepEqual(found.masters.map((u) => u.slice('s3://studio/vod/'.length)).sort(), want);
    assert.equal(scanSummary(first).enqueued, want.length);
    assert.equal(scanSummary(second).enqueued, 0);
  });
});
