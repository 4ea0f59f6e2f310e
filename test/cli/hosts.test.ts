/**
 * Many transfer hosts: several `colony serve --stages transfer` processes, each with its own
 * consumer-name prefix (--name), share the jobs with no file fetched twice when none dies, and
 * lose none when one is SIGKILLed. The crawler-and-aggregator service also runs the retention
 * schedule (COLONY_TRIM_INTERVAL_MS, archive first): the acknowledged log is trimmed and archived.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startSampleOrigin, type SampleOrigin } from '../../cli/sample-origin.js';
import { collect, runColony, spawnColony, type CliResult } from '../helpers/cli.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/redis.js';
import { Keys } from '../../streams/keys.js';

const LIB = { classes: 4, variants: 2, segmentsPerVariant: 60, segmentBytes: 2000 };
const PER_CLASS = 1 + LIB.variants * (1 + LIB.segmentsPerVariant);
let origin: SampleOrigin;
let redis: Redis;
const prefixes: string[] = [];
const dirs: string[] = [];
const children: ChildProcess[] = [];

before(async () => {
  origin = await startSampleOrigin({ synthetic: LIB, segmentDelayMs: 10 });
  redis = new Redis(TEST_REDIS_URL);
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  redis.disconnect();
  await origin.close();
  for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Run = {
  prefix: string;
  out: string;
  keys: Keys;
  env: Record<string, string>;
  hosts: ChildProcess[];
  results: Promise<CliResult>[];
  /** Consumers seen holding jobs while the run went on. */
  holders: Set<string>;
  finished(): Promise<void>;
  stopAll(): Promise<CliResult[]>;
};

async function startRun(name: string, extra: Record<string, string> = {}): Promise<Run> {
  const prefix = uniquePrefix(name);
  prefixes.push(prefix);
  const out = await mkdtemp(join(tmpdir(), `colony-${name}-`));
  dirs.push(out);
  const keys = new Keys(prefix, 2);
  const env = {
    REDIS_URL: TEST_REDIS_URL,
    COLONY_PREFIX: prefix,
    COLONY_DEST: `file://${out}/lib`,
    COLONY_SHARDS: '2',
    COLONY_BATCH_SIZE: '10',
    COLONY_CONCURRENCY: '10',
    COLONY_BLOCK_MS: '100',
    COLONY_VISIBILITY_TIMEOUT_MS: '4000',
    COLONY_LOG_LEVEL: 'warn',
    ...extra,
  };
  const hosts: ChildProcess[] = [];
  const results: Promise<CliResult>[] = [];
  const start = (args: string[]) => {
    const child = spawnColony(['serve', ...args], env);
    children.push(child);
    hosts.push(child);
    results.push(collect(child, 120_000));
  };
  start(['--stages', 'crawler,aggregator', '--name', 'control']);
  for (let h = 1; h <= 3; h++) start(['--stages', 'transfer', '--name', `host-${h}`]);
  const catalog = join(out, 'catalog.ndjson');
  await writeFile(
    catalog,
    Array.from({ length: LIB.classes }, (_, c) =>
      JSON.stringify({
        classId: `${name}-${c}`,
        manifestUrl: `${origin.url}/synthetic/c${c}/master.m3u8`,
      }),
    ).join('\n'),
  );
  const holders = new Set<string>();
  let watching = true;
  const watch = (async () => {
    while (watching) {
      for (const key of keys.allShards('jobs')) {
        const summary = (await redis.xpending(key, 'transfer').catch(() => [0])) as [
          number,
          string,
          string,
          [string, string][] | null,
        ];
        for (const [consumer] of summary[3] ?? []) holders.add(consumer.split('/')[0]!);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const scan = await runColony(['scan', '--catalog', catalog], env);
  assert.equal(scan.code, 0, scan.stdout + scan.stderr);
  return {
    prefix,
    out,
    keys,
    env,
    hosts,
    results,
    holders,
    async finished() {
      for (let c = 0; c < LIB.classes; c++)
        await waitFor(
          async () => {
            const [status, published] = await redis.hmget(
              keys.classMeta(`${name}-${c}`),
              'status',
              'published',
            );
            return status === 'transferred' && Number(published) > 0 ? true : undefined;
          },
          90_000,
          `${name}-${c} transferred`,
        );
      watching = false;
      await watch;
    },
    async stopAll() {
      for (const h of hosts) if (h.exitCode === null && h.signalCode === null) h.kill('SIGTERM');
      return Promise.all(results);
    },
  };
}

async function assertComplete(run: Run, name: string): Promise<void> {
  for (let c = 0; c < LIB.classes; c++) {
    const meta = await redis.hgetall(run.keys.classMeta(`${name}-${c}`));
    assert.equal(Number(meta.total), PER_CLASS);
    assert.equal(Number(meta.copied) + Number(meta.skipped), PER_CLASS, JSON.stringify(meta));
    assert.equal(Number(meta.failed), 0);
    for (let v = 0; v < LIB.variants; v++)
      for (let s = 0; s < LIB.segmentsPerVariant; s++)
        assert.equal(
          (await stat(join(run.out, 'lib', `synthetic/c${c}/v${v}/s${s}.ts`))).size,
          LIB.segmentBytes,
        );
  }
}

describe('many transfer hosts', () => {
  test('three hosts share the jobs, no file fetched twice; the log is trimmed and archived on schedule', async () => {
    // Prepare
    origin.requests.clear();
    const run = await startRun('hosts', {
      COLONY_TRIM_INTERVAL_MS: '1000',
      COLONY_TRIM_ARCHIVE: 'true',
    });

    // Act
    await run.finished();

    // Assess: every host took jobs, each segment was fetched exactly once.
    await assertComplete(run, 'hosts');
    assert.deepEqual([...run.holders].sort(), ['host-1', 'host-2', 'host-3']);
    const segments = [...origin.requests.entries()].filter(([p]) => p.endsWith('.ts'));
    assert.equal(segments.length, LIB.classes * LIB.variants * LIB.segmentsPerVariant);
    assert.deepEqual(
      segments.filter(([, n]) => n !== 1),
      [],
      'segments fetched more than once',
    );
    // Retention: the acknowledged jobs are trimmed, after being archived.
    await waitFor(
      async () => {
        let left = 0;
        for (const key of run.keys.allShards('jobs')) left += await redis.xlen(key);
        return left === 0 ? true : undefined;
      },
      20_000,
      'jobs trimmed by the schedule',
    );
    const archived = await readdir(join(run.out, 'lib', '_colony', 'archive', run.prefix, 'jobs'));
    assert.ok(archived.length > 0, 'jobs archived before the trim');
    for (const r of await run.stopAll()) assert.equal(r.code, 0, r.stderr);
  });

  test('a host SIGKILLed mid-run loses no file: the others take over what it held', async () => {
    // Prepare
    const run = await startRun('hostdies');
    await waitFor(
      async () => {
        let n = 0;
        for (const key of run.keys.allShards('results')) n += await redis.xlen(key);
        return n >= 3 ? true : undefined;
      },
      60_000,
      'copies under way',
    );

    // Act
    const victim = run.hosts[1]!;
    assert.equal(victim.exitCode, null, 'the host is still working when it dies');
    victim.kill('SIGKILL');
    await run.finished();

    // Assess
    await assertComplete(run, 'hostdies');
    const results = await run.stopAll();
    assert.equal((await results[1]!).signal, 'SIGKILL');
  });
});
