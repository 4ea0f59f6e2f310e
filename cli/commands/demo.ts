import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import type { Cluster, Redis } from 'ioredis';
import type { Config } from '../../schemas/config.js';
import { describeError } from '../../schemas/errors.js';
import { connectRedis, probeRedis } from '../../streams/redis.js';
import { startLocalRedis, type LocalRedis } from '../local-redis.js';
import { packageRoot } from '../package-root.js';
import { startSampleOrigin } from '../sample-origin.js';
import { prose, runWith, verbosity, type RawOptions } from '../command-kit.js';
import { runTransfer } from './transfer.js';

/** `colony demo`: its options and help, in one place. */
export function demoCommand(): Command {
  const cmd = new Command('demo')
    .summary('copy the bundled sample library on loopback')
    .description(
      prose(`
Serves the bundled sample HLS library (real ffmpeg output: multi-variant TS, fMP4 with
alternate audio and subtitles, AES-128 with key rotation, byte ranges, an I-frame playlist,
...) on 127.0.0.1, copies every class to file://<dir> with the local runtime, and checks every
copy byte for byte against the origin.

Uses the Redis at REDIS_URL, or starts a throwaway redis-server when none answers. In a Redis
of yours it writes under a prefix of its own, colony-demo-<random> (never COLONY_PREFIX), and
deletes every key under it when it ends, so that nothing of the demo shows in colony status.`),
    )
    .option('--out <dir>', 'where the copies go', '.colony-demo/out')
    .option('--keep', "keep the demo's keys in Redis (the prefix is printed)");
  verbosity(cmd, 'no progress line', 'stage logs on stderr');
  return cmd.allowExcessArguments(false).action((raw: RawOptions) =>
    runWith(
      (config) =>
        runDemo(
          {
            out: String(raw.out),
            keep: raw.keep === true,
            quiet: raw.quiet === true,
            verbose: raw.verbose === true,
          },
          config,
        ),
      { signals: true },
    ),
  );
}

type Expected = Record<string, { manifest: string; files: string[] }>;

/** Serves the sample library, copies it with `colony transfer`, and checks every byte. */
export async function runDemo(
  o: { out: string; keep: boolean; quiet: boolean; verbose: boolean },
  config: Config,
): Promise<number> {
  const out = resolve(o.out);
  const root = join(packageRoot(), 'test', 'fixtures', 'hls');
  const expected = JSON.parse(readFileSync(join(root, 'expected.json'), 'utf8')) as Expected;

  let redis: LocalRedis | undefined;
  try {
    await probeRedis(config.redisUrl, 1000);
  } catch {
    redis = await startLocalRedis();
    process.stderr.write(`no Redis at ${config.redisUrl}: started redis-server at ${redis.url}\n`);
  }
  const redisUrl = redis?.url ?? config.redisUrl;
  const prefix = `colony-demo-${randomBytes(4).toString('hex')}`;
  const origin = await startSampleOrigin({ root });
  process.stderr.write(
    `sample origin at ${origin.url}/hls/, copying ${Object.keys(expected).length} classes to file://${out}` +
      `${redis ? '' : ` (Redis keys under ${prefix}, ${o.keep ? 'kept' : 'deleted at the end'})`}\n`,
  );
  try {
    const manifests = Object.values(expected).map((e) => `${origin.url}/hls/${e.manifest}`);
    const code = await runTransfer(
      {
        manifests,
        dest: `file://${out}`,
        sourceBase: 'hls',
        json: false,
        dryRun: false,
        quiet: o.quiet,
        verbose: o.verbose,
      },
      { ...config, redisUrl, prefix },
    );
    let checked = 0;
    const wrong: string[] = [];
    for (const e of Object.values(expected)) {
      for (const file of e.files) {
        const [a, b] = await Promise.all([
          readFile(join(root, file)),
          readFile(join(out, file)).catch(() => undefined),
        ]);
        if (!b || !a.equals(b)) wrong.push(file);
        checked++;
      }
    }
    if (wrong.length) {
      process.stderr.write(
        `verification: ${wrong.length} of ${checked} files missing or different: ${wrong.slice(0, 10).join(', ')}\n`,
      );
      return 1;
    }
    process.stderr.write(
      `verification: all ${checked} files at file://${out} are byte-identical to the origin\n`,
    );
    return code;
  } catch (err) {
    process.stderr.write(`demo failed: ${describeError(err)}\n`);
    return 1;
  } finally {
    await origin.close();
    if (redis) await redis.stop();
    else if (!o.keep) await deleteKeys(redisUrl, prefix);
  }
}

/** Deletes every key under the demo's prefix (SCAN, never KEYS; every master of a cluster). */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = await connectRedis(url, 'colony-demo-cleanup');
  try {
    const nodes = redis.isCluster
      ? (redis as unknown as Cluster).nodes('master')
      : [redis as unknown as Redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        // One key per DEL: keys of a cluster live in many slots.
        for (const key of keys) await node.del(key);
      } while (cursor !== '0');
    }
  } catch (err) {
    process.stderr.write(
      `could not delete the demo's keys under ${prefix}: ${describeError(err)}\n`,
    );
  } finally {
    redis.disconnect();
  }
}
