import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { segmentBytes, startSampleOrigin } from '../../../cli/sample-origin.js';
import { classIdFor, requestClass } from '../../../consumers/requests/ingest.js';
import { startStages } from '../../../consumers/stages.js';
import { createHandler } from '../../../lambda/handler.js';
import { isFinished, type ClassState } from '../../../schemas/class-state.js';
import { loadConfig } from '../../../schemas/config.js';
import { CopyInvocation } from '../../../schemas/lambda.js';
import { silentLogger } from '../../../streams/log.js';
import { TEST_REDIS_URL, deletePrefix, testConfig, waitFor } from '../../helpers/redis.js';
import { startLambdaEndpoint } from '../../lambda/lambda-endpoint.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** Sets environment variables for this test, restored afterwards. */
function withEnv(vars: Record<string, string>): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  cleanups.push(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

async function runClass(
  manifestUrl: string,
  dest: string,
  env: Record<string, string>,
  prefix: string,
): Promise<ClassState> {
  const config = { ...loadConfig({ REDIS_URL: TEST_REDIS_URL, ...env }), prefix, blockMs: 100 };
  const host = await startStages({
    config,
    stages: ['crawler', 'transfer', 'aggregator'],
    logger: silentLogger,
  });
  try {
    const classId = classIdFor(manifestUrl, dest);
    await requestClass(host.deps.classes, host.deps.publisher, { classId, manifestUrl, dest });
    return await waitFor(
      async () => {
        const s = await host.deps.classes.get(classId);
        return s && isFinished(s) ? s : undefined;
      },
      60_000,
      'class to finish',
    );
  } finally {
    await host.stop();
  }
}

test('a class transferred end to end with COLONY_RUNTIME=lambda through a Lambda endpoint that throttles and fails', async () => {
  // Prepare: a synthetic library, the real handler behind a loopback Invoke API that throttles
  // every third request and crashes once.
  const lib = { classes: 1, variants: 3, segmentsPerVariant: 40, segmentBytes: 3000 };
  const origin = await startSampleOrigin({ synthetic: lib });
  cleanups.push(() => origin.close());
  const out = await mkdtemp(join(tmpdir(), 'colony-lambda-pipeline-'));
  cleanups.push(() => rm(out, { recursive: true, force: true }));
  const handler = createHandler();
  cleanups.push(() => handler.close());
  const endpoint = await startLambdaEndpoint({
    functionName: 'colony-copy',
    handler: (ev, ctx) => handler.handler(ev, ctx),
    inject: (n) => (n === 2 ? 'unhandled' : n % 3 === 0 ? 'throttle' : undefined),
  });
  cleanups.push(() => endpoint.close());
  withEnv({ AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' });
  const prefix = testConfig().prefix;
  cleanups.push(() => deletePrefix(TEST_REDIS_URL, prefix));
  const env = {
    COLONY_RUNTIME: 'lambda',
    COLONY_LAMBDA_FUNCTION: 'colony-copy',
    COLONY_LAMBDA_ENDPOINT: endpoint.url,
    COLONY_BATCH_SIZE: '25',
    COLONY_VISIBILITY_TIMEOUT_MS: '20000',
    COLONY_SKIP_EXISTING: 'true',
  };
  const manifestUrl = `${origin.url}/synthetic/c0/master.m3u8`;
  const dest = `file://${out}`;

  // Act 1
  const state = await runClass(manifestUrl, dest, env, prefix);

  // Assess 1
  const files = 1 + lib.variants * (1 + lib.segmentsPerVariant);
  assert.equal(state.status, 'transferred');
  assert.equal(state.total, files);
  assert.equal(state.copied, files);
  assert.equal(state.failed, 0);
  for (let v = 0; v < lib.variants; v++) {
    for (let s = 0; s < lib.segmentsPerVariant; s++) {
      const rel = `c0/v${v}/s${s}.ts`;
      assert.ok(
        (await readFile(join(out, 'synthetic', rel))).equals(segmentBytes(rel, lib.segmentBytes)),
        rel,
      );
    }
  }
  assert.ok((endpoint.injected.get('throttle') ?? 0) > 0);
  assert.equal(endpoint.injected.get('unhandled'), 1);
  const sent = endpoint.invocations.map((p) => CopyInvocation.parse(p));
  assert.ok(sent.every((p) => p.files.length <= 25 && p.dest === dest && p.skipExisting));

  // Act 2: the same class again under a new prefix (a new run): everything is already there.
  const prefix2 = testConfig().prefix;
  cleanups.push(() => deletePrefix(TEST_REDIS_URL, prefix2));
  const again = await runClass(manifestUrl, dest, env, prefix2);

  // Assess 2
  assert.equal(again.status, 'transferred');
  assert.equal(again.total, files);
  assert.equal(again.skipped, files, 'nothing copied twice');
  assert.equal(again.copied, 0);
});
