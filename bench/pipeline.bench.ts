/**
 * Orchestration throughput: a synthetic library of ~100,000 files through the whole pipeline
 * (classes -> jobs -> results -> outcomes) with a no-op copy, so that what is measured is
 * colony's own work and Redis's, not the network. Scenarios run side by side in one process
 * and one run, against a throwaway redis-server, because this machine is noisy.
 *
 *   npm run bench            (BENCH_FILES=20000 for a quick run)
 */
import { Redis } from 'ioredis';
import { classIdFor, requestClass } from '../consumers/requests/ingest.js';
import { startStages } from '../consumers/stages.js';
import { isFinished } from '../schemas/class-state.js';
import { loadConfig, type Config } from '../schemas/config.js';
import { silentLogger } from '../streams/log.js';
import { startLocalRedis } from '../cli/local-redis.js';
import { startSampleOrigin, type SyntheticLibrary } from '../cli/sample-origin.js';
import { NoopRuntime } from './noop-runtime.js';
import { STREAM_NAMES } from '../schemas/events.js';
import { trimStreams } from '../streams/retention.js';

type Scenario = { name: string; shards: number; batchSize: number; concurrency: number };
type Row = Scenario & {
  files: number;
  seconds: number;
  crawlSeconds: number;
  filesPerSec: number;
  bytesPerFile: number;
  bytesPerFileTrimmed: number;
};

const target = Number(process.env.BENCH_FILES ?? 100_000);
const variants = 10;
const segmentsPerVariant = 499;
const perClass = 1 + variants * (1 + segmentsPerVariant);
const classes = Math.max(1, Math.round(target / perClass));

async function runScenario(
  redisUrl: string,
  originUrl: string,
  s: Scenario,
  round: number,
): Promise<Row> {
  const config: Config = {
    ...loadConfig({ REDIS_URL: redisUrl }),
    prefix: `bench-${s.name.replace(/\W+/g, '-')}-${round < 0 ? 'warmup' : round}`,
    shards: s.shards,
    batchSize: s.batchSize,
    concurrency: s.concurrency,
    blockMs: 100,
  };
  const raw = new Redis(redisUrl);
  await raw.flushall();
  const before = Number(/used_memory:(\d+)/.exec(await raw.info('memory'))![1]);
  const host = await startStages({
    config,
    stages: ['crawler', 'transfer', 'aggregator'],
    logger: silentLogger,
    runtime: new NoopRuntime(),
  });
  const dest = 'file:///tmp/colony-bench-unused';
  const started = process.hrtime.bigint();
  const ids: string[] = [];
  for (let c = 0; c < classes; c++) {
    const manifestUrl = `${originUrl}/synthetic/c${c}/master.m3u8`;
    const classId = classIdFor(manifestUrl, dest);
    ids.push(classId);
    await requestClass(host.deps.classes, host.deps.publisher, { classId, manifestUrl, dest });
  }
  let files = 0;
  let crawlSeconds = 0;
  for (;;) {
    const states = await Promise.all(ids.map((id) => host.deps.classes.get(id)));
    if (!crawlSeconds && states.every((st) => st?.crawled))
      crawlSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (states.every((st) => st && isFinished(st))) {
      files = states.reduce((n, st) => n + st!.total, 0);
      const bad = states.filter((st) => st!.copied !== st!.total);
      if (bad.length) throw new Error(`${bad.length} classes did not count every file once`);
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const after = Number(/used_memory:(\d+)/.exec(await raw.info('memory'))![1]);
  // What a file costs once its class is done and the acknowledged log is trimmed.
  await trimStreams({ redis: host.redis, keys: host.deps.keys }, STREAM_NAMES);
  const trimmed = Number(/used_memory:(\d+)/.exec(await raw.info('memory'))![1]);
  await host.stop();
  raw.disconnect();
  return {
    ...s,
    files,
    seconds,
    crawlSeconds,
    filesPerSec: files / seconds,
    bytesPerFile: (after - before) / files,
    bytesPerFileTrimmed: (trimmed - before) / files,
  };
}

async function main() {
  const redis = await startLocalRedis();
  const lib: SyntheticLibrary = { classes, variants, segmentsPerVariant, segmentBytes: 1 };
  const origin = await startSampleOrigin({ synthetic: lib });
  const scenarios: Scenario[] = [
    { name: 'batch 100, 1 shard', shards: 1, batchSize: 100, concurrency: 64 },
    { name: 'batch 100, 2 shards', shards: 2, batchSize: 100, concurrency: 64 },
    { name: 'batch 20, 1 shard', shards: 1, batchSize: 20, concurrency: 64 },
  ];
  const rows: Row[] = [];
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  try {
    // One unreported round first: the JIT warms up on the first scenario otherwise.
    await runScenario(redis.url, origin.url, scenarios[0]!, -1);
    for (let round = 0; round < rounds; round++) {
      for (const s of scenarios) rows.push(await runScenario(redis.url, origin.url, s, round));
    }
  } finally {
    await origin.close();
    await redis.stop();
  }
  console.log(
    `\ncolony pipeline benchmark: ${classes} classes x ${perClass} files, no-op copy, Redis ${'7'} on loopback\n`,
  );
  console.log(
    '| scenario | files | seconds | crawled after (s) | files/s | Redis bytes per tracked file | after trim |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.files} | ${r.seconds.toFixed(2)} | ${r.crawlSeconds.toFixed(2)} | ${Math.round(r.filesPerSec)} | ${Math.round(r.bytesPerFile)} | ${Math.round(r.bytesPerFileTrimmed)} |`,
    );
  }
  console.log(
    '\nmedian over rounds (rounds run interleaved, so machine noise hits every scenario alike):\n',
  );
  console.log('| scenario | files/s (median) | ratio to the first scenario |');
  console.log('| --- | ---: | ---: |');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(rows.filter((r) => r.name === scenarios[0]!.name).map((r) => r.filesPerSec));
  for (const sc of scenarios) {
    const m = median(rows.filter((r) => r.name === sc.name).map((r) => r.filesPerSec));
    console.log(`| ${sc.name} | ${Math.round(m)} | ${(m / base).toFixed(2)} |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
