import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { segmentBytes } from '../../cli/sample-origin.js';
import { classIdFor, requestClass } from '../../consumers/requests/ingest.js';
import { startStages } from '../../consumers/stages.js';
import type { TransferRuntime } from '../../consumers/runtimes/runtime.js';
import { LocalRuntime } from '../../consumers/runtimes/local-runtime.js';
import { isFinished } from '../../schemas/class-state.js';
import type { FileOutcome, JobFile } from '../../schemas/events.js';
import { silentLogger } from '../../streams/log.js';
import { runColony } from '../helpers/cli.js';
import { startFaultOrigin } from '../helpers/fault-origin.js';
import { TEST_REDIS_URL, deletePrefix, testConfig, waitFor } from '../helpers/redis.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function tempDir() {
  const dir = await mkdtemp(join(tmpdir(), 'colony-faults-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('faults at the origin', () => {
  test('5xx, resets, stalls, truncated bodies and slow drips: every file arrives intact, retries counted', async () => {
    // Prepare: every segment fails 0 to 2 times, with every kind of fault.
    const lib = { classes: 1, variants: 3, segmentsPerVariant: 60, segmentBytes: 5000 };
    const origin = await startFaultOrigin(lib, { maxFaultsPerFile: 2, stallMs: 3000 });
    cleanups.push(() => origin.close());
    const out = await tempDir();
    const config = testConfig({
      retryAttempts: 4,
      copyTimeoutMs: 400,
      concurrency: 16,
      batchSize: 10,
    });
    cleanups.push(() => deletePrefix(TEST_REDIS_URL, config.prefix));
    const host = await startStages({
      config,
      stages: ['crawler', 'transfer', 'aggregator'],
      logger: silentLogger,
    });
    cleanups.push(() => host.stop());
    const manifestUrl = `${origin.url}/synthetic/c0/master.m3u8`;
    const classId = classIdFor(manifestUrl, `file://${out}`);

    // Act
    await requestClass(host.deps.classes, host.deps.publisher, {
      classId,
      manifestUrl,
      dest: `file://${out}`,
    });
    const state = await waitFor(
      async () => {
        const s = await host.deps.classes.get(classId);
        return s && isFinished(s) ? s : undefined;
      },
      60_000,
      'class to finish',
    );

    // Assess
    for (const fault of [
      'status-500',
      'status-503',
      'reset',
      'stall',
      'truncate',
      'slow-drip',
    ] as const) {
      assert.ok((origin.injected.get(fault) ?? 0) > 0, `${fault} was injected`);
    }
    assert.equal(state.status, 'transferred');
    assert.equal(state.total, 1 + lib.variants * (1 + lib.segmentsPerVariant));
    assert.equal(state.copied, state.total);
    assert.equal(state.retries, origin.failing(), 'each failed attempt is one retry in the report');
    for (let v = 0; v < lib.variants; v++) {
      for (let s = 0; s < lib.segmentsPerVariant; s++) {
        const rel = `c0/v${v}/s${s}.ts`;
        const got = await readFile(join(out, 'synthetic', rel));
        assert.ok(got.equals(segmentBytes(rel, lib.segmentBytes)), `${rel} intact`);
      }
    }
  });
});

/** A runtime that crashes (throws) for a class until told to recover: a batch that cannot finish. */
class FlakyRuntime implements TransferRuntime {
  broken = true;
  constructor(private readonly inner: TransferRuntime) {}
  async copy(files: readonly JobFile[], target: { dest: string }): Promise<FileOutcome[]> {
    if (this.broken) throw new Error('worker crashed');
    return this.inner.copy(files, target);
  }
  close() {
    return this.inner.close();
  }
}

describe('dead letters', () => {
  test('a batch past max deliveries is dead-lettered, its class fails, and dlq retry completes it', async () => {
    // Prepare
    const lib = { classes: 1, variants: 1, segmentsPerVariant: 3, segmentBytes: 100 };
    const origin = await startFaultOrigin(lib, { maxFaultsPerFile: 0, stallMs: 0 });
    cleanups.push(() => origin.close());
    const out = await tempDir();
    const config = testConfig({ maxDeliveries: 2, visibilityTimeoutMs: 1000, batchSize: 100 });
    cleanups.push(() => deletePrefix(TEST_REDIS_URL, config.prefix));
    const runtime = new FlakyRuntime(new LocalRuntime(config));
    const host = await startStages({
      config,
      stages: ['crawler', 'transfer', 'aggregator'],
      logger: silentLogger,
      runtime,
    });
    cleanups.push(() => host.stop());
    const manifestUrl = `${origin.url}/synthetic/c0/master.m3u8`;
    const classId = classIdFor(manifestUrl, `file://${out}`);
    const env = { REDIS_URL: TEST_REDIS_URL, COLONY_PREFIX: config.prefix };

    // Act 1: the batch keeps crashing until it is dead-lettered.
    await requestClass(host.deps.classes, host.deps.publisher, {
      classId,
      manifestUrl,
      dest: `file://${out}`,
    });
    const failed = await waitFor(
      async () => {
        const s = await host.deps.classes.get(classId);
        return s && isFinished(s) ? s : undefined;
      },
      30_000,
      'class to fail',
    );
    const listed = await runColony(['dlq', 'list', '--json'], env);

    // Assess 1
    assert.equal(failed.status, 'failed');
    assert.equal(failed.failed, failed.total);
    const letters = (
      JSON.parse(listed.stdout) as {
        deadLetters: { letter: { stream: string; reason: string; deliveries: number } }[];
      }
    ).deadLetters;
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.letter.stream, 'jobs');
    assert.match(letters[0]!.letter.reason, /delivered 3 times \(max 2\)/);

    // Act 2: the worker recovers; the dead letter is retried.
    runtime.broken = false;
    const retried = await runColony(['dlq', 'retry', '--all'], env);
    const done = await waitFor(
      async () => {
        const s = await host.deps.classes.get(classId);
        return s && s.status === 'transferred' && isFinished(s) ? s : undefined;
      },
      30_000,
      'class to be transferred after the retry',
    );

    // Assess 2
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /requeued 1 of 1/);
    assert.equal(done.copied, done.total);
    assert.equal(done.failed, 0);
    assert.equal(done.revision, 2);
    const outcomes = await host.redis.xrange(host.deps.keys.stream('outcomes'), '-', '+');
    assert.deepEqual(
      outcomes.map(([, f]) => f[f.indexOf('type') + 1]),
      ['class-failed', 'class-transferred'],
    );
    const after = await runColony(['dlq', 'list', '--json'], env);
    assert.equal((JSON.parse(after.stdout) as { deadLetters: unknown[] }).deadLetters.length, 0);
  });
});
