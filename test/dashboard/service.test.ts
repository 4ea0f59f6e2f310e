import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServiceHttp, type ServiceHttp } from '../../cli/http-server.js';
import { startSampleOrigin, type SampleOrigin } from '../../cli/sample-origin.js';
import { startServiceRoutes } from '../../cli/service-routes.js';
import { signWebhook } from '../../consumers/requests/webhook-signature.js';
import { startStages, type StageHost } from '../../consumers/stages.js';
import {
  ClassDetail,
  ClassList,
  DeadLetterList,
  PipelineStatus,
  type ClassSummary,
} from '../../schemas/dashboard.js';
import { SCHEMA_VERSION } from '../../schemas/events.js';
import { silentLogger } from '../../streams/log.js';
import { HLS_ROOT } from '../helpers/fixtures.js';
import { Keys } from '../../streams/keys.js';
import {
  TEST_REDIS_URL,
  deletePrefix,
  testConfig,
  uniquePrefix,
  waitFor,
} from '../helpers/redis.js';
import { openEvents } from './sse-client.js';

const SECRET = 'whsec-dashboard-0123456789';
const TOKEN = 'dashboard-token-0123456789abcdef';
const BEARER = { authorization: `Bearer ${TOKEN}` };
const POLL = { pollMs: 100, pipelineMs: 200, fullScanEvery: 5 };

let origin: SampleOrigin;
let fixturesOrigin: SampleOrigin;
let host: StageHost;
let http: ServiceHttp;
let dirs: string[] = [];
let out: string;

async function tempDir(name: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `colony-${name}-`));
  dirs.push(d);
  return d;
}

/** A fake build: the asset server serves whatever dist/dashboard/public holds. */
async function fakeAssets(): Promise<string> {
  const d = await tempDir('assets');
  await writeFile(join(d, 'index.html'), '<!doctype html><title>colony</title>');
  await writeFile(join(d, 'app.js'), 'console.log(1)');
  await writeFile(join(d, 'app.css'), 'body{}');
  return d;
}

async function call(
  path: string,
  o: { method?: string; headers?: Record<string, string>; body?: string; base?: string } = {},
) {
  const res = await fetch(`${o.base ?? http.url}${path}`, {
    method: o.method ?? 'GET',
    headers: o.headers ?? {},
    redirect: 'manual',
    ...(o.body !== undefined ? { body: o.body } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: () => JSON.parse(text) as unknown,
  };
}

/** A GET with a Host header of our choosing (fetch does not let one be set). */
function getWithHost(base: string, path: string, hostHeader: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = request(
      { host: u.hostname, port: u.port, path, headers: { host: hostHeader } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function sendClass(classId: string, manifestUrl: string) {
  const body = JSON.stringify({ classId, manifestUrl, title: `Title of ${classId}` });
  const res = await call('/hooks/class-completed', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-colony-signature': signWebhook(SECRET, body),
    },
    body,
  });
  assert.equal(res.status, 202, res.text);
}

async function finished(classId: string): Promise<ClassSummary> {
  return waitFor(
    async () => {
      const list = ClassList.parse((await call('/api/classes', { headers: BEARER })).json());
      const c = list.classes.find((x) => x.classId === classId);
      return c?.finished ? c : undefined;
    },
    30_000,
    `${classId} finished in /api/classes`,
  );
}

before(async () => {
  // An origin with the fixtures and one playlist naming a segment that does not exist.
  const root = await tempDir('origin');
  await mkdir(join(root, 'broken'));
  await writeFile(
    join(root, 'broken', 'index.m3u8'),
    '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg0.ts\n#EXTINF:2,\nmissing.ts\n#EXTINF:2,\nseg2.ts\n#EXT-X-ENDLIST\n',
  );
  for (const s of ['seg0.ts', 'seg2.ts'])
    await writeFile(join(root, 'broken', s), Buffer.alloc(500, 1));
  origin = await startSampleOrigin({ root });
  const fixtures = await startSampleOrigin({ root: HLS_ROOT });
  out = await tempDir('dashboard-out');
  const config = testConfig({
    webhookSecret: SECRET,
    dest: `file://${out}`,
    dashboardToken: TOKEN,
    allowedOrigins: [fixtures.url],
  });
  host = await startStages({
    config,
    stages: ['crawler', 'transfer', 'aggregator'],
    logger: silentLogger,
  });
  const routes = await startServiceRoutes({
    redis: host.redis,
    keys: host.deps.keys,
    config,
    logger: silentLogger,
    stages: ['crawler', 'transfer', 'aggregator'],
    assetsDir: await fakeAssets(),
    poll: POLL,
  });
  http = await startServiceHttp({
    port: 0,
    host: '127.0.0.1',
    redis: host.redis,
    deps: host.deps,
    info: {},
    routes,
  });
  fixturesOrigin = fixtures;
});

after(async () => {
  await http?.close();
  await host?.stop();
  await origin?.close();
  await fixturesOrigin?.close();
  if (host) await deletePrefix(TEST_REDIS_URL, host.deps.config.prefix);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
});

describe('the token', () => {
  test('every path but /healthz, /readyz and the webhook needs it', async () => {
    // Prepare
    const guarded = [
      '/',
      '/api/classes',
      '/api/classes/x',
      '/api/pipeline',
      '/api/throughput',
      '/api/dead-letters',
      '/api/events',
      '/api/session',
      '/metrics',
      '/assets/app.js',
    ];

    // Act
    const anonymous = await Promise.all(
      guarded.map((p) => call(p, { headers: { accept: 'application/json' } })),
    );
    const wrong = await Promise.all(
      guarded.map((p) => call(p, { headers: { authorization: 'Bearer nope-nope-nope-nope' } })),
    );
    const browser = await call('/', { headers: { accept: 'text/html' } });
    const open = await Promise.all(['/healthz', '/readyz'].map((p) => call(p)));
    const webhook = await call('/hooks/class-completed', { method: 'POST', body: '{}' });
    const authorised = await Promise.all(
      guarded.filter((p) => p !== '/api/events').map((p) => call(p, { headers: BEARER })),
    );

    // Assess
    assert.deepEqual(
      anonymous.map((r) => r.status),
      guarded.map(() => 401),
    );
    assert.equal(anonymous[1]!.headers.get('www-authenticate'), 'Bearer realm="colony"');
    assert.deepEqual(
      wrong.map((r) => r.status),
      guarded.map(() => 401),
    );
    assert.equal(browser.status, 303);
    assert.equal(browser.headers.get('location'), '/login');
    assert.deepEqual(
      open.map((r) => r.status),
      [200, 200],
    );
    assert.equal(webhook.status, 401, 'the webhook answers for its signature, not the token');
    assert.match(webhook.text, /signature/i);
    assert.deepEqual(
      authorised.map((r) => r.status),
      [200, 200, 404, 200, 200, 200, 200, 200, 200],
    );
  });

  test('the login form sets an HttpOnly SameSite cookie that opens the dashboard; a wrong token does not', async () => {
    // Prepare
    const form = (token: string) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: http.url },
      body: new URLSearchParams({ token }).toString(),
    });

    // Act
    const page = await call('/login');
    const wrong = await call('/login', form('not-the-token-at-all'));
    const right = await call('/login', form(TOKEN));
    const cookie = right.headers.get('set-cookie') ?? '';
    const withCookie = await call('/api/classes', { headers: { cookie: cookie.split(';')[0]! } });
    const session = await call('/api/session', { headers: { cookie: cookie.split(';')[0]! } });
    const forged = await call('/api/classes', { headers: { cookie: 'colony_session=forged' } });

    // Assess
    assert.equal(page.status, 200);
    assert.match(page.text, /<form method="post" action="\/login"/);
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    assert.match(wrong.text, /Wrong token/);
    assert.equal(right.status, 303);
    assert.equal(right.headers.get('location'), '/');
    assert.match(cookie, /^colony_session=[^;]+; HttpOnly; SameSite=Strict; Path=\//);
    assert.ok(!cookie.includes(TOKEN), 'the cookie is not the token');
    assert.equal(withCookie.status, 200);
    assert.deepEqual(session.json(), { credential: 'cookie' });
    assert.equal(forged.status, 401);
  });

  test('a POST with the cookie must come from this origin, with a JSON body; a bearer POST needs neither', async () => {
    // Prepare
    const login = await call('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: http.url },
      body: `token=${TOKEN}`,
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const json = { 'content-type': 'application/json' };
    const purge = (headers: Record<string, string>) =>
      call('/api/dead-letters/purge', { method: 'POST', headers, body: '{"ids":["1-1"]}' });

    // Act
    const noOrigin = await purge({ cookie, ...json });
    const otherOrigin = await purge({ cookie, ...json, origin: 'https://evil.example' });
    const crossSite = await purge({ cookie, ...json, 'sec-fetch-site': 'cross-site' });
    const formBody = await purge({ cookie, origin: http.url, 'content-type': 'text/plain' });
    const sameOrigin = await purge({
      cookie,
      ...json,
      origin: http.url,
      'sec-fetch-site': 'same-origin',
    });
    const bearer = await purge({ ...BEARER, ...json });

    // Assess
    assert.equal(noOrigin.status, 403);
    assert.match(noOrigin.text, /neither Origin nor Sec-Fetch-Site/);
    assert.equal(otherOrigin.status, 403);
    assert.match(otherOrigin.text, /cross-origin/);
    assert.equal(crossSite.status, 403);
    assert.equal(formBody.status, 403);
    assert.match(formBody.text, /JSON body/);
    assert.equal(sameOrigin.status, 200, sameOrigin.text);
    assert.deepEqual(sameOrigin.json(), { selected: 0, done: 0 });
    assert.equal(bearer.status, 200, bearer.text);
  });

  test('the pages say what may run: no inline script, no other origin, no framing', async () => {
    // Act
    const index = await call('/', { headers: BEARER });
    const script = await call('/assets/app.js', { headers: BEARER });
    const again = await call('/assets/app.js', {
      headers: { ...BEARER, 'if-none-match': script.headers.get('etag') ?? '' },
    });

    // Assess
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /text\/html/);
    const csp = index.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    assert.equal(again.status, 304);
  });
});

describe('classes, events and metrics', () => {
  test('a class sent through the webhook is listed, its bitfield has a bit per file, and the events tell its progress and outcome', async () => {
    // Prepare
    const events = await openEvents(`${http.url}/api/events`, BEARER);
    const classId = 'dash-media-only';

    // Act
    await sendClass(classId, `${fixturesOrigin.url}/hls/media-only/index.m3u8`);
    const outcome = await events.next(
      (e) => e.event === 'outcome' && (e.data as { classId: string }).classId === classId,
    );
    const summary = await finished(classId);
    const detail = ClassDetail.parse(
      (await call(`/api/classes/${classId}`, { headers: BEARER })).json(),
    );
    const missing = await call('/api/classes/no-such-class', { headers: BEARER });
    events.close();

    // Assess
    assert.equal(events.events[0]!.event, 'hello');
    assert.deepEqual(outcome.data, { classId, status: 'transferred' });
    const progress = events.events
      .filter((e) => e.event === 'classes')
      .flatMap((e) => (e.data as { classes: ClassSummary[] }).classes)
      .filter((c) => c.classId === classId);
    assert.ok(progress.length >= 1, 'progress events for the class');
    assert.ok(
      events.events.some((e) => e.event === 'pipeline'),
      'pipeline events',
    );
    assert.equal(summary.status, 'transferred');
    assert.equal(summary.title, `Title of ${classId}`);
    assert.equal(summary.done, summary.total);
    assert.ok(summary.total >= 4);
    assert.equal(detail.class.classId, classId);
    const bits = Buffer.from(detail.bits.done, 'hex');
    for (let i = 0; i < summary.total; i++)
      assert.ok(bits[i >> 3]! & (0x80 >> (i & 7)), `bit ${i} set`);
    assert.equal(detail.bits.failed, '');
    assert.deepEqual(detail.failures, []);
    assert.equal(missing.status, 404);
  });

  test('failed files have bits of their own and their reasons', async () => {
    // Act
    await sendClass('dash-broken', `${origin.url}/hls/broken/index.m3u8`);
    const summary = await finished('dash-broken');
    const detail = ClassDetail.parse(
      (await call('/api/classes/dash-broken', { headers: BEARER })).json(),
    );

    // Assess
    assert.equal(summary.status, 'failed');
    assert.equal(summary.failed, 1);
    const failedOrdinals = [...Buffer.from(detail.bits.failed, 'hex')].flatMap((byte, i) =>
      [0, 1, 2, 3, 4, 5, 6, 7].filter((b) => byte & (0x80 >> b)).map((b) => i * 8 + b),
    );
    assert.deepEqual(failedOrdinals, [detail.failures[0]!.ordinal]);
    assert.match(detail.failures[0]!.path, /missing\.ts$/);
    assert.match(detail.failures[0]!.reason, /404/);
  });

  test('/metrics: process counters and deployment gauges in Prometheus text format', async () => {
    // Prepare: a class transferred (the previous tests), so that there is something to count.
    await finished('dash-media-only');

    // Act
    const res = await call('/metrics', { headers: BEARER });
    const value = (series: string) => {
      const line = res.text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };

    // Assess
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.ok(value('colony_files_total{status="copied"}')! >= 4, res.text);
    assert.ok(value('colony_files_total{status="failed"}')! >= 1);
    assert.ok(value('colony_bytes_total{status="copied"}')! > 0);
    assert.ok(value('colony_classes{status="transferred"}')! >= 1);
    assert.ok(value('colony_classes{status="failed"}')! >= 1);
    assert.ok(value('colony_class_files{status="copied"}')! >= 4);
    assert.equal(value('colony_class_files{status="failed"}'), 1);
    assert.equal(value('colony_group_lag{stream="jobs",shard="0",group="transfer"}'), 0);
    assert.notEqual(
      value('colony_group_pending{stream="results",shard="0",group="aggregator"}'),
      undefined,
    );
    assert.notEqual(value('colony_stream_length{stream="jobs",shard="0"}'), undefined);
    assert.ok(value('colony_copy_duration_seconds_count{status="copied"}')! >= 4);
    assert.ok(value('colony_redis_round_trips_total')! > 0);
    assert.ok(value('colony_redis_commands_total')! >= value('colony_redis_round_trips_total')!);
    assert.ok(value('colony_deliveries_total{group="transfer",outcome="acked"}')! >= 1);
    assert.match(res.text, /# TYPE colony_lambda_invocations_total counter/);
    assert.match(res.text, /# TYPE colony_lambda_throttles_total counter/);
    assert.match(res.text, /# TYPE colony_dead_letters gauge/);
    assert.match(res.text, /^process_cpu_seconds_total /m);
  });

  test('/readyz is ready while Redis answers and every stage group exists, and names a missing one', async () => {
    // Prepare: routes over a prefix where no stage has started yet.
    const keys = new Keys(uniquePrefix('ready'));
    const routes = await startServiceRoutes({
      redis: host.redis,
      keys,
      config: { dashboardToken: TOKEN },
      logger: silentLogger,
      stages: ['transfer'],
      assetsDir: await fakeAssets(),
      poll: POLL,
    });
    const side = await startServiceHttp({
      port: 0,
      host: '127.0.0.1',
      redis: host.redis,
      deps: host.deps,
      info: {},
      routes,
    });
    try {
      // Act
      const missing = await call('/readyz', { base: side.url });
      await host.redis.xgroup('CREATE', keys.stream('jobs'), 'transfer', '0', 'MKSTREAM');
      const ready = await call('/readyz', { base: side.url });

      // Assess
      assert.equal(missing.status, 503);
      assert.deepEqual(missing.json(), {
        ok: false,
        redis: 'up',
        missingGroups: [`transfer on ${keys.stream('jobs')}`],
      });
      assert.equal(ready.status, 200, ready.text);
      assert.deepEqual(ready.json(), { ok: true, redis: 'up', missingGroups: [] });
    } finally {
      await side.close();
      await deletePrefix(TEST_REDIS_URL, keys.prefix);
    }
  });
});

describe('dead letters', () => {
  test('are listed with reason and history; retry and purge do what colony dlq does', async () => {
    // Prepare: a batch for a class nobody requested is dead-lettered by the transfer stage.
    await host.deps.publisher.publish('jobs', [
      {
        type: 'file-jobs',
        v: SCHEMA_VERSION,
        classId: 'dash-nobody',
        run: 1,
        files: [{ ordinal: 0, url: `${origin.url}/hls/broken/seg0.ts`, key: 'x/seg0.ts' }],
      },
    ]);
    const listed = async () =>
      DeadLetterList.parse((await call('/api/dead-letters', { headers: BEARER })).json());
    const first = await waitFor(
      async () => ((await listed()).total > 0 ? listed() : undefined),
      15_000,
      'a dead letter',
    );
    const post = (action: string, body: unknown) =>
      call(`/api/dead-letters/${action}`, {
        method: 'POST',
        headers: { ...BEARER, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    // Act
    const retried = await post('retry', { ids: [first.deadLetters[0]!.id] });
    const again = await waitFor(
      async () => {
        const l = await listed();
        return l.total > 0 && l.deadLetters[0]!.id !== first.deadLetters[0]!.id ? l : undefined;
      },
      15_000,
      'the retried batch dead-lettered again (its class is still unknown)',
    );
    const bad = await post('retry', { ids: ['not-an-id'] });
    const purged = await post('purge', { all: true });
    const after = await listed();
    const pipeline = PipelineStatus.parse(
      (await call('/api/pipeline', { headers: BEARER })).json(),
    );

    // Assess
    const letter = first.deadLetters[0]!;
    assert.equal(letter.stream, 'jobs');
    assert.equal(letter.group, 'transfer');
    assert.equal(letter.deliveries, 1);
    assert.equal(letter.classId, 'dash-nobody');
    assert.equal(letter.files, 1);
    assert.equal(letter.type, 'file-jobs');
    assert.match(letter.reason, /unknown class dash-nobody/);
    assert.ok(letter.deadAt > 0 && letter.entryId.includes('-'));
    assert.equal(retried.status, 200, retried.text);
    assert.deepEqual(retried.json(), { selected: 1, done: 1 });
    assert.equal(again.total, 1, 'the retried letter left dead, its new death is the only one');
    assert.equal(bad.status, 400);
    assert.deepEqual(purged.json(), { selected: 1, done: 1 });
    assert.equal(after.total, 0);
    assert.ok(pipeline.streams.some((s) => s.stream === 'dead'));
  });
});

describe('without a token (loopback only)', () => {
  test('only loopback names are answered, and POSTs still need this origin', async () => {
    // Prepare
    const routes = await startServiceRoutes({
      redis: host.redis,
      keys: host.deps.keys,
      config: { dashboardToken: undefined },
      logger: silentLogger,
      stages: [],
      assetsDir: await fakeAssets(),
      poll: POLL,
    });
    const open = await startServiceHttp({
      port: 0,
      host: '127.0.0.1',
      redis: host.redis,
      deps: host.deps,
      info: {},
      routes,
    });
    try {
      const port = new URL(open.url).port;

      // Act
      const loopback = await getWithHost(open.url, '/api/classes', `127.0.0.1:${port}`);
      const localhost = await getWithHost(open.url, '/api/classes', `localhost:${port}`);
      const v6 = await getWithHost(open.url, '/api/classes', `[::1]:${port}`);
      const rebound = await getWithHost(open.url, '/api/classes', `evil.example:${port}`);
      const metrics = await getWithHost(open.url, '/metrics', `evil.example:${port}`);
      const forged = await call('/api/dead-letters/purge', {
        base: open.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
        body: '{"all":true}',
      });

      // Assess
      assert.deepEqual([loopback, localhost, v6, rebound, metrics], [200, 200, 200, 421, 421]);
      assert.equal(forged.status, 403);
    } finally {
      await open.close();
    }
  });
});
