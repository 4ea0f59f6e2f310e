/**
 * Transfer hosts, 1 to 4: each a separate `colony serve --stages transfer --name host-N`
 * process, against one crawler-and-aggregator process, copying a synthetic library from a
 * loopback origin that answers each segment after BENCH_ORIGIN_MS (an origin far away: a host
 * is bound by its copy slots, COLONY_CONCURRENCY, not by this machine). Also measures Redis
 * memory per file while the classes are tracked, before and after `colony trim`.
 *
 *   npm run bench:hosts      (BENCH_FILES=2000, BENCH_ORIGIN_MS=50, BENCH_CONCURRENCY=8)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startLocalRedis } from '../cli/local-redis.js';
import { startSampleOrigin } from '../cli/sample-origin.js';
import { Keys } from '../streams/keys.js';

const BIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const files = Number(process.env.BENCH_FILES ?? 2000);
const originMs = Number(process.env.BENCH_ORIGIN_MS ?? 50);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const variants = 2;
const classes = 4;
const segmentsPerVariant = Math.max(1, Math.round(files / classes / variants) - 1);
const perClass = 1 + variants * (1 + segmentsPerVariant);

function colony(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
}

async function finish(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
}

async function main(): Promise<void> {
  const server = await startLocalRedis();
  const origin = await startSampleOrigin({
    synthetic: { classes, variants, segmentsPerVariant, segmentBytes: 20_000 },
    segmentDelayMs: originMs,
  });
  const redis = new Redis(server.url);
  const rows: string[] = [];
  let oneHost = 0;
  try {
    for (const hosts of [1, 2, 3, 4]) {
      await redis.flushall();
      const before = await usedMemory(redis);
      const out = await mkdtemp(join(tmpdir(), 'colony-bench-hosts-'));
      const prefix = `bench-hosts-${hosts}`;
      const env = {
        REDIS_URL: server.url,
        COLONY_PREFIX: prefix,
        COLONY_DEST: `file://${out}`,
        COLONY_CONCURRENCY: String(concurrency),
        COLONY_BATCH_SIZE: '20',
        COLONY_SHARDS: '4',
        COLONY_BLOCK_MS: '200',
        COLONY_TRIM_INTERVAL_MS: '0',
        COLONY_LOG_LEVEL: 'warn',
      };
      const procs = [colony(['serve', '--stages', 'crawler,aggregator', '--name', 'control'], env)];
      for (let h = 1; h <= hosts; h++)
        procs.push(colony(['serve', '--stages', 'transfer', '--name', `host-${h}`], env));
      const keys = new Keys(prefix, 4);
      const catalog = join(out, 'catalog.ndjson');
      await writeFile(
        catalog,
        Array.from({ length: classes }, (_, c) =>
          JSON.stringify({
            classId: `b${c}`,
            manifestUrl: `${origin.url}/synthetic/c${c}/master.m3u8`,
          }),
        ).join('\n'),
      );
      // Every host is up (its liveness key is there) before the clock starts.
      for (;;) {
        const [, alive] = await redis.scan('0', 'MATCH', `${prefix}:alive:host-*`, 'COUNT', 1000);
        if (alive.length === hosts) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const started = Date.now();
      const scan = colony(['scan', '--catalog', catalog], env);
      await finish(scan);
      for (let c = 0; c < classes; c++) {
        for (;;) {
          const [status, published] = await redis.hmget(
            keys.classMeta(`b${c}`),
            'status',
            'published',
          );
          if (status === 'transferred' && Number(published) > 0) break;
          if (status === 'failed') throw new Error(`class b${c} failed`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const seconds = (Date.now() - started) / 1000;
      const tracked = (await usedMemory(redis)) - before;
      await finish(colony(['trim'], env));
      const trimmed = (await usedMemory(redis)) - before;
      for (const p of procs) p.kill('SIGTERM');
      await Promise.all(procs.map(finish));
      await rm(out, { recursive: true, force: true });
      const rate = (classes * perClass) / seconds;
      if (hosts === 1) oneHost = rate;
      rows.push(
        `| ${hosts} | ${classes * perClass} | ${seconds.toFixed(1)} | ${rate.toFixed(0)} | ${(rate / oneHost).toFixed(2)}x | ${Math.round(tracked / (classes * perClass))} | ${Math.round(trimmed / (classes * perClass))} |`,
      );
    }
  } finally {
    redis.disconnect();
    await origin.close();
    await server.stop();
  }
  process.stdout.write(
    [
      `origin ${originMs} ms per segment, ${concurrency} copies per host`,
      '| transfer hosts | files | seconds | files/s | vs 1 host | Redis bytes/file tracked | after trim |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n') + '\n',
  );
}

await main();
