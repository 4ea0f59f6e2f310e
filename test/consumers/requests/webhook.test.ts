import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServiceHttp, type ServiceHttp } from '../../../cli/http-server.js';
import { startSampleOrigin, type SampleOrigin } from '../../../cli/sample-origin.js';
import { startStages, type StageHost } from '../../../consumers/stages.js';
import { signWebhook, verifyWebhook } from '../../../consumers/requests/webhook-signature.js';
import { silentLogger } from '../../../streams/log.js';
import { HLS_ROOT, expectedFixtures } from '../../helpers/fixtures.js';
import { TEST_REDIS_URL, deletePrefix, testConfig, waitFor } from '../../helpers/redis.js';

const SECRET = 'whsec-test-0123456789';
let origin: SampleOrigin;
let host: StageHost;
let http: ServiceHttp;
let out: string;
let prefix: string;

async function post(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${http.url}/hooks/class-completed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function signed(body: string, at?: number) {
  return { 'x-colony-signature': signWebhook(SECRET, body, at) };
}

async function classesEnqueued(): Promise<number> {
  return host.redis.xlen(host.deps.keys.stream('classes'));
}

before(async () => {
  origin = await startSampleOrigin({ root: HLS_ROOT });
  out = await mkdtemp(join(tmpdir(), 'colony-webhook-'));
  const config = testConfig({ webhookSecret: SECRET, dest: `file://${out}` });
  prefix = config.prefix;
  host = await startStages({
    config,
    stages: ['crawler', 'transfer', 'aggregator'],
    logger: silentLogger,
  });
  http = await startServiceHttp({
    port: 0,
    host: '127.0.0.1',
    redis: host.redis,
    deps: host.deps,
    info: {},
  });
});

after(async () => {
  await http.close();
  await host.stop();
  await origin.close();
  await deletePrefix(TEST_REDIS_URL, prefix);
  await rm(out, { recursive: true, force: true });
});

describe('webhook signature', () => {
  const body = Buffer.from('{"classId":"a","manifestUrl":"http://127.0.0.1/x.m3u8"}');
  test('accepts its own signature and refuses tampering, other secrets, stale and future times', () => {
    const now = 1_800_000_000;
    const header = signWebhook(SECRET, body, now);
    assert.deepEqual(verifyWebhook(SECRET, body, header, now), { ok: true });
    assert.equal(
      verifyWebhook(SECRET, Buffer.from(body.toString().replace('"a"', '"b"')), header, now).ok,
      false,
    );
    assert.equal(verifyWebhook('other-secret', body, header, now).ok, false);
    assert.match(JSON.stringify(verifyWebhook(SECRET, body, header, now + 301)), /tolerance/);
    assert.match(JSON.stringify(verifyWebhook(SECRET, body, header, now - 301)), /tolerance/);
    assert.equal(verifyWebhook(SECRET, body, undefined, now).ok, false);
    assert.equal(verifyWebhook(SECRET, body, 't=abc,v1=00', now).ok, false);
    // A rolled secret: either of two v1 values may match.
    const rolled = `${header},v1=${'0'.repeat(64)}`;
    assert.equal(verifyWebhook(SECRET, body, rolled, now).ok, true);
  });
});

describe('POST /hooks/class-completed', () => {
  test('a signed class is accepted with 202 and ends class-transferred on the outcomes stream', async () => {
    // Prepare
    const fixture = expectedFixtures()['ts-multivariant']!;
    const body = JSON.stringify({
      classId: 'studio-class-1',
      manifestUrl: `${origin.url}/hls/${fixture.manifest}`,
      title: 'Morning flow',
      version: 1,
    });

    // Act
    const res = await post(body, signed(body));

    // Assess
    assert.equal(res.status, 202);
    assert.equal(typeof res.json.eventId, 'string');
    const outcome = await waitFor(
      async () => {
        const entries = await host.redis.xrange(host.deps.keys.stream('outcomes'), '-', '+');
        return entries.find(
          ([, f]) => f.includes('class-transferred') && f.join().includes('studio-class-1'),
        );
      },
      20_000,
      'class-transferred outcome',
    );
    const data = JSON.parse(outcome[1][outcome[1].indexOf('data') + 1]!) as {
      files: number;
      copied: number;
    };
    assert.equal(data.files, fixture.files.length);
    assert.equal(data.copied, fixture.files.length);
    const copied = await readFile(join(out, 'hls', fixture.files[0]!));
    assert.ok(copied.equals(await readFile(join(HLS_ROOT, fixture.files[0]!))));
  });

  test('the same class and version again answers with the first event id and enqueues nothing', async () => {
    // Prepare
    const body = JSON.stringify({
      classId: 'studio-class-2',
      manifestUrl: `${origin.url}/hls/media-only/index.m3u8`,
      version: '7',
    });
    const first = await post(body, signed(body));
    const enqueued = await classesEnqueued();

    // Act: a retry by the studio (new signature), and a replay of the same signed request.
    const retry = await post(body, signed(body));
    const replay = await post(body, signed(body, Math.floor(Date.now() / 1000) - 10));

    // Assess
    assert.equal(first.status, 202);
    assert.equal(retry.status, 202);
    assert.equal(retry.json.eventId, first.json.eventId);
    assert.equal(retry.json.duplicate, true);
    assert.equal(replay.json.eventId, first.json.eventId);
    assert.equal(await classesEnqueued(), enqueued);
  });

  test('bad signatures are 401 and enqueue nothing', async () => {
    const body = JSON.stringify({
      classId: 'studio-class-3',
      manifestUrl: `${origin.url}/hls/media-only/index.m3u8`,
    });
    const before = await classesEnqueued();
    const tampered = await post(body.replace('class-3', 'class-4'), signed(body));
    const expired = await post(body, signed(body, Math.floor(Date.now() / 1000) - 600));
    const missing = await post(body);
    for (const r of [tampered, expired, missing]) assert.equal(r.status, 401);
    assert.match(String(expired.json.error), /tolerance/);
    assert.equal(await classesEnqueued(), before);
  });

  test('malformed bodies are 400 with the reasons, oversized ones 413, and nothing is enqueued', async () => {
    const before = await classesEnqueued();
    const notJson = '{"classId": ';
    const invalid = JSON.stringify({
      classId: 'bad id with spaces',
      manifestUrl: 'ftp://x/y.m3u8',
    });
    const huge = JSON.stringify({
      classId: 'big',
      manifestUrl: `${origin.url}/x.m3u8`,
      title: 'x'.repeat(70 * 1024),
    });

    const r1 = await post(notJson, signed(notJson));
    const r2 = await post(invalid, signed(invalid));
    const r3 = await post(huge, signed(huge));

    assert.equal(r1.status, 400);
    assert.equal(r2.status, 400);
    const reasons = (r2.json.reasons as string[]).join('\n');
    assert.match(reasons, /classId/);
    assert.match(reasons, /manifestUrl/);
    assert.equal(r3.status, 413);
    assert.equal(await classesEnqueued(), before);
  });

  test('test and aborted classes are skipped with the reason', async () => {
    const before = await classesEnqueued();
    for (const flag of ['test', 'aborted'] as const) {
      const body = JSON.stringify({
        classId: `skip-${flag}`,
        manifestUrl: `${origin.url}/hls/media-only/index.m3u8`,
        [flag]: true,
      });
      const res = await post(body, signed(body));
      assert.equal(res.status, 200);
      assert.equal(res.json.skipped, `${flag} class`);
    }
    assert.equal(await classesEnqueued(), before);
  });

  test('a new version of a finished class starts a new run', async () => {
    const v1 = JSON.stringify({
      classId: 'studio-class-5',
      manifestUrl: `${origin.url}/hls/media-only/index.m3u8`,
      version: 1,
    });
    const first = await post(v1, signed(v1));
    await waitFor(
      async () => ((await host.deps.classes.get('studio-class-5'))?.published ? true : undefined),
      20_000,
      'run 1',
    );
    const v2 = v1.replace('"version":1', '"version":2');

    const second = await post(v2, signed(v2));

    assert.equal(second.status, 202);
    assert.notEqual(second.json.eventId, first.json.eventId);
    const state = await waitFor(
      async () => {
        const s = await host.deps.classes.get('studio-class-5');
        return s && s.run === 2 && s.published === 2 ? s : undefined;
      },
      20_000,
      'run 2 published',
    );
    assert.equal(state.status, 'transferred');
    assert.equal(state.copied + state.skipped, state.total);
  });

  test('GET /healthz says Redis is up', async () => {
    const res = await fetch(`${http.url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { redis: string }).redis, 'up');
  });
});
