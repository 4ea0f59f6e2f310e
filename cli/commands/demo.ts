import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import type { Config } from '../../schemas/config.js';
import { describeError } from '../../schemas/errors.js';
import { probeRedis } from '../../streams/redis.js';
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
copy byte for byte against the origin. Uses the Redis at REDIS_URL, or starts a throwaway
redis-server when none answers.`),
    )
    .option('--out <dir>', 'where the copies go', '.colony-demo/out');
  verbosity(cmd, 'no progress line', 'stage logs on stderr');
  return cmd
    .allowExcessArguments(false)
    .action((raw: RawOptions) =>
      runWith((config) =>
        runDemo(
          { out: String(raw.out), quiet: raw.quiet === true, verbose: raw.verbose === true },
          config,
        ),
      ),
    );
}

type Expected = Record<string, { manifest: string; files: string[] }>;

/** Serves the sample library, copies it with `colony transfer`, and checks every byte. */
export async function runDemo(
  o: { out: string; quiet: boolean; verbose: boolean },
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
  const origin = await startSampleOrigin({ root });
  process.stderr.write(
    `sample origin at ${origin.url}/hls/, copying ${Object.keys(expected).length} classes to file://${out}\n`,
  );
  try {
    const manifests = Object.values(expected).map((e) => `${origin.url}/hls/${e.manifest}`);
    const code = await runTransfer(
      {
        manifests,
        dest: `file://${out}`,
        sourceBase: 'hls',
        json: false,
        quiet: o.quiet,
        verbose: o.verbose,
      },
      { ...config, redisUrl: redis?.url ?? config.redisUrl },
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
    await redis?.stop();
  }
}
