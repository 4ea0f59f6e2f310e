import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  LambdaInvokeError,
  LambdaRuntime,
  type LambdaRuntimeOptions,
} from '../../../consumers/runtimes/lambda-runtime.js';
import { createRuntime } from '../../../consumers/runtimes/create-runtime.js';
import { LocalRuntime } from '../../../consumers/runtimes/local-runtime.js';
import { createHandler, type CopyHandler } from '../../../lambda/handler.js';
import type { Config } from '../../../schemas/config.js';
import { ConfigError } from '../../../schemas/errors.js';
import { createLogger } from '../../../streams/log.js';
import { metricsRegistry } from '../../../streams/metrics.js';
import type { JobFile } from '../../../schemas/events.js';
import { CopyInvocation } from '../../../schemas/lambda.js';
import { testConfig } from '../../helpers/redis.js';
import { startS3, type TestS3 } from '../../helpers/s3.js';
import { startLambdaEndpoint, type LambdaEndpointOptions } from '../../lambda/lambda-endpoint.js';
import { startTestOrigin, type TestOrigin } from '../../copy/test-origin.js';

const BUCKET = 'colony-lambda-rt';
const FUNCTION = 'colony-copy';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
// Fast retries: the behaviour is the same, the test is not slower than it needs to be.
const fast: LambdaRuntimeOptions = { credentials, backoffBaseMs: 10, backoffMaxMs: 50 };

let s3: TestS3;
let origin: TestOrigin;
let copyHandler: CopyHandler;
let savedEnv: Record<string, string | undefined>;

before(async () => {
  s3 = await startS3([BUCKET]);
  savedEnv = {};
  // The handler runs in this process and, as on Lambda, takes credentials from the default chain.
  for (const [k, v] of Object.entries(s3.env)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  const files: Record<string, { body: Buffer }> = {};
  for (let i = 0; i < 150; i++) files[`/lib/c/v/seg-${i}.ts`] = { body: randomBytes(1000 + i) };
  files['/lib/c/index.m3u8'] = { body: Buffer.from('#EXTM3U\n') };
  origin = await startTestOrigin(files);
  copyHandler = createHandler();
});

after(async () => {
  await copyHandler.close();
  await origin.close();
  await s3.close();
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

function files(count: number, extra: string[] = []): JobFile[] {
  const paths = [...Array.from({ length: count }, (_, i) => `/lib/c/v/seg-${i}.ts`), ...extra];
  return paths.map((p, ordinal) => ({
    ordinal,
    url: `${origin.url}${p}?sig=abc`,
    key: p.slice(1),
  }));
}

const dest = () => `s3://${BUCKET}/${randomBytes(4).toString('hex')}`;

function lambdaConfig(endpoint: string, overrides: Partial<Config> = {}): Config {
  return testConfig({
    runtime: 'lambda',
    lambdaFunction: FUNCTION,
    lambdaEndpoint: endpoint,
    s3Endpoint: s3.endpoint,
    s3ForcePathStyle: true,
    retryAttempts: 2,
    visibilityTimeoutMs: 30_000,
    ...overrides,
  });
}

async function endpoint(
  t: { after(fn: () => Promise<void>): void },
  options: Partial<LambdaEndpointOptions> = {},
) {
  const e = await startLambdaEndpoint({
    functionName: FUNCTION,
    handler: (ev, ctx) => copyHandler.handler(ev, ctx),
    ...options,
  });
  t.after(() => e.close());
  return e;
}

function runtime(
  t: { after(fn: () => Promise<void>): void },
  config: Config,
  options: LambdaRuntimeOptions = fast,
) {
  const r = new LambdaRuntime(config, options);
  t.after(() => r.close());
  return r;
}

test('the Lambda runtime returns exactly what the local runtime returns for the same batch', async (t) => {
  // Prepare
  const e = await endpoint(t);
  const config = lambdaConfig(e.url);
  const lambda = runtime(t, config);
  const local = new LocalRuntime(config);
  t.after(() => local.close());
  const batch = files(5, ['/lib/c/index.m3u8', '/lib/c/v/missing.ts']);

  // Act
  const viaLambda = await lambda.copy(batch, { dest: dest() });
  const viaLocal = await local.copy(batch, { dest: dest() });

  // Assess
  assert.deepEqual(viaLambda, viaLocal);
  assert.deepEqual(
    viaLambda.map((o) => o.status),
    ['copied', 'copied', 'copied', 'copied', 'copied', 'copied', 'failed'],
  );
  assert.equal(e.invocations.length, 1);
  const sent = CopyInvocation.parse(e.invocations[0]);
  assert.equal(sent.files.length, 7);
  assert.ok(sent.budgetMs !== undefined && sent.budgetMs < config.visibilityTimeoutMs);
  assert.equal(sent.attempts, 2);
});

/** A metric's value by its labels, from this process's registry. */
async function metricValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metricsRegistry.getMetricsAsJSON()).find((m) => m.name === name);
  const match = metric?.values.find((v) =>
    Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l),
  );
  return match?.value ?? 0;
}

test('throttling (429 TooManyRequestsException) and service errors are retried with backoff', async (t) => {
  // Prepare
  const e = await endpoint(t, {
    inject: (n) => (n === 1 || n === 2 ? 'throttle' : n === 3 ? 'service-error' : undefined),
  });
  const lines: string[] = [];
  const logger = createLogger('info', 'colony', {
    format: 'json',
    destination: { write: (l: string) => lines.push(l) },
  });
  const lambda = runtime(t, lambdaConfig(e.url), { ...fast, logger });
  const batch = files(3);
  const throttlesBefore = await metricValue('colony_lambda_throttles_total');
  const okBefore = await metricValue('colony_lambda_invocations_total', { result: 'ok' });

  // Act
  const outcomes = await lambda.copy(batch, { dest: dest() });

  // Assess
  assert.deepEqual(
    outcomes.map((o) => [o.ordinal, o.status]),
    [
      [0, 'copied'],
      [1, 'copied'],
      [2, 'copied'],
    ],
  );
  assert.equal(e.injected.get('throttle'), 2);
  assert.equal(e.injected.get('service-error'), 1);
  assert.equal(e.requests, 4);
  assert.equal(e.invocations.length, 1);
  // Each retry is a structured warning; throttling is counted.
  const warnings = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    warnings.map((w) => [w.level, w.msg, w.function, w.throttled, w.attempt]),
    [
      ['warn', 'lambda invoke failed; retrying', FUNCTION, true, 1],
      ['warn', 'lambda invoke failed; retrying', FUNCTION, true, 2],
      ['warn', 'lambda invoke failed; retrying', FUNCTION, false, 3],
    ],
  );
  assert.match(String(warnings[0]!.err), /TooManyRequestsException/);
  assert.equal((await metricValue('colony_lambda_throttles_total')) - throttlesBefore, 2);
  assert.equal(
    (await metricValue('colony_lambda_invocations_total', { result: 'ok' })) - okBefore,
    1,
  );
});

test('function errors and malformed answers are retried, and the results are still right', async (t) => {
  // Prepare
  const e = await endpoint(t, {
    inject: (n) => (n === 1 ? 'unhandled' : n === 2 ? 'garbage' : undefined),
  });
  const lambda = runtime(t, lambdaConfig(e.url));
  const target = dest();
  const batch = files(4);

  // Act
  const outcomes = await lambda.copy(batch, { dest: target });

  // Assess
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['copied', 'copied', 'copied', 'copied'],
  );
  assert.equal(e.requests, 3);
  const stored = await s3.get(BUCKET, `${target.split('/').pop()}/lib/c/v/seg-3.ts`);
  assert.ok(stored?.equals(origin.files.get('/lib/c/v/seg-3.ts')!.body));
});

test('a function that keeps failing hands the batch back by throwing', async (t) => {
  // Prepare
  const e = await endpoint(t, { inject: () => 'unhandled' });
  const lambda = runtime(t, lambdaConfig(e.url), { ...fast, maxFunctionErrors: 3 });

  // Act / Assess
  await assert.rejects(lambda.copy(files(2), { dest: dest() }), (err: Error) => {
    assert.ok(err instanceof LambdaInvokeError);
    assert.equal(err.code, 'E_LAMBDA_FUNCTION');
    assert.equal(err.retryable, true);
    assert.match(err.message, /Runtime\.ExitError/);
    return true;
  });
  assert.equal(e.requests, 3);
});

test('an unknown function fails at once, without retries', async (t) => {
  // Prepare
  const e = await endpoint(t);
  const lambda = runtime(t, lambdaConfig(e.url, { lambdaFunction: 'no-such-function' }));

  // Act / Assess
  await assert.rejects(lambda.copy(files(1), { dest: dest() }), (err: Error) => {
    assert.ok(err instanceof LambdaInvokeError && !err.retryable, String(err));
    assert.match(err.message, /ResourceNotFoundException/);
    return true;
  });
  assert.equal(e.requests, 0);
});

test('a batch is invoked 100 files at a time, and split further when the payload is too large', async (t) => {
  // Prepare: Lambda refuses payloads over 9 KB here (6 MB in AWS).
  const e = await endpoint(t, { maxPayloadBytes: 9_000 });
  const lambda = runtime(t, lambdaConfig(e.url));
  const batch = files(150);

  // Act
  const outcomes = await lambda.copy(batch, { dest: dest() });

  // Assess
  assert.equal(outcomes.length, 150);
  assert.deepEqual(
    outcomes.map((o) => o.ordinal),
    batch.map((f) => f.ordinal),
    'in job order',
  );
  assert.ok(outcomes.every((o) => o.status === 'copied'));
  const sizes = e.invocations.map((p) => CopyInvocation.parse(p).files.length);
  assert.equal(
    sizes.reduce((a, b) => a + b, 0),
    150,
    'every file invoked exactly once',
  );
  assert.ok(sizes.every((n) => n <= 100));
  assert.ok((e.injected.get('too-large') ?? 0) > 0, 'Lambda refused some payloads');
});

test('the runtime splits before sending when its own payload limit says so', async (t) => {
  // Prepare
  const e = await endpoint(t);
  const lambda = runtime(t, lambdaConfig(e.url), { ...fast, payloadLimitBytes: 4_000 });

  // Act
  const outcomes = await lambda.copy(files(40), { dest: dest() });

  // Assess
  assert.ok(outcomes.every((o) => o.status === 'copied'));
  assert.ok(e.invocations.length > 1);
  assert.equal(e.injected.size, 0);
  for (const p of e.invocations) assert.ok(Buffer.byteLength(JSON.stringify(p)) <= 4_000);
});

test('invocations in flight stay under COLONY_LAMBDA_MAX_IN_FLIGHT', async (t) => {
  // Prepare
  let running = 0;
  let peak = 0;
  const e = await endpoint(t, {
    handler: async (ev, ctx) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 100));
      try {
        return await copyHandler.handler(ev, ctx);
      } finally {
        running--;
      }
    },
  });
  const lambda = runtime(t, lambdaConfig(e.url, { lambdaMaxInFlight: 2 }));

  // Act
  const all = await Promise.all(
    Array.from({ length: 6 }, (_, i) => lambda.copy(files(i + 1), { dest: dest() })),
  );

  // Assess
  assert.equal(all.length, 6);
  assert.equal(e.invocations.length, 6);
  assert.equal(peak, 2);
});

test('files the function stopped for lack of time are invoked again', async (t) => {
  // Prepare: the first answer reports file 1 aborted, as a function at the end of its budget does.
  let first = true;
  const e = await endpoint(t, {
    handler: async (ev, ctx) => {
      const answer = await copyHandler.handler(ev, ctx);
      if (first) {
        first = false;
        answer.results[1] = {
          ordinal: 1,
          key: answer.results[1]!.key,
          attempts: 1,
          status: 'failed',
          code: 'E_ABORTED',
          reason: 'stopped',
        };
      }
      return answer;
    },
  });
  const lambda = runtime(t, lambdaConfig(e.url));

  // Act
  const outcomes = await lambda.copy(files(3), { dest: dest() });

  // Assess
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['copied', 'copied', 'copied'],
  );
  assert.deepEqual(
    e.invocations.map((p) => CopyInvocation.parse(p).files.map((f) => f.ordinal)),
    [[0, 1, 2], [1]],
  );
});

test('createRuntime picks the runtime, and names the variable when the Lambda settings are wrong', async () => {
  // Prepare
  const base = testConfig();

  // Act / Assess
  const local = createRuntime(base);
  assert.ok(local instanceof LocalRuntime);
  await local.close();
  const lambda = createRuntime({ ...base, runtime: 'lambda', lambdaFunction: FUNCTION });
  assert.ok(lambda instanceof LambdaRuntime);
  await lambda.close();
  assert.throws(
    () => createRuntime({ ...base, runtime: 'lambda', lambdaFunction: undefined }),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^COLONY_LAMBDA_FUNCTION: /);
      return true;
    },
  );
  assert.throws(
    () =>
      createRuntime({
        ...base,
        runtime: 'lambda',
        lambdaFunction: FUNCTION,
        lambdaTimeoutMs: base.visibilityTimeoutMs,
      }),
    /COLONY_LAMBDA_TIMEOUT_MS: expected less than COLONY_VISIBILITY_TIMEOUT_MS/,
  );
});
