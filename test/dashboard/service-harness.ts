/** The service under test for the dashboard's HTTP tests: stages, webhook, routes, an origin. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startServiceHttp, type ServiceHttp } from '../../cli/http-server.js';
import { startSampleOrigin, type SampleOrigin } from '../../cli/sample-origin.js';
import { startServiceRoutes } from '../../cli/service-routes.js';
import { signWebhook } from '../../consumers/requests/webhook-signature.js';
import { startStages, type StageHost } from '../../consumers/stages.js';
import { ClassList, type ClassSummary } from '../../schemas/dashboard.js';
import { silentLogger } from '../../streams/log.js';
import { HLS_ROOT } from '../helpers/fixtures.js';
import { TEST_REDIS_URL, deletePrefix, testConfig, waitFor } from '../helpers/redis.js';

export const SECRET = 'whsec-dashboard-0123456789';
export const TOKEN = 'dashboard-token-0123456789abcdef';
export const BEARER = { authorization: `Bearer ${TOKEN}` };
export const POLL = { pollMs: 100, pipelineMs: 200, fullScanEvery: 5 };

export let origin: SampleOrigin;
export let fixturesOrigin: SampleOrigin;
export let host: StageHost;
export let http: ServiceHttp;
let dirs: string[] = [];
export let out: string;

export async function tempDir(name: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `colony-${name}-`));
  dirs.push(d);
  return d;
}

/** A fake build: the asset server serves whatever dist/dashboard/public holds. */
export async function fakeAssets(): Promise<string> {
  const d = await tempDir('assets');
  await writeFile(join(d, 'index.html'), '<!doctype html><title>colony</title>');
  await writeFile(join(d, 'app.js'), 'console.log(1)');
  await writeFile(join(d, 'app.css'), 'body{}');
  return d;
}

export async function call(
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
export function getWithHost(base: string, path: string, hostHeader: string): Promise<number> {
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

export async function sendClass(classId: string, manifestUrl: string) {
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

export async function finished(classId: string): Promise<ClassSummary> {
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

/** Registers the service's start and stop around the calling test file's tests. */
export function useService(): void {
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
}
