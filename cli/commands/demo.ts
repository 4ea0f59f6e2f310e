import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../../schemas/config.js';
import { describeError } from '../../schemas/errors.js';
import { probeRedis } from '../../streams/redis.js';
import { startLocalRedis, type LocalRedis } from '../local-redis.js';
import { packageRoot } from '../package-root.js';
import { startSampleOrigin } from '../sample-origin.js';
import { transferCommand } from './transfer.js';

export const demoHelp = `Usage: colony demo [--out <dir>]

Serves the bundled sample HLS library (real ffmpeg output: multi-variant TS, fMP4 with
alternate audio and subtitles, AES-128 with key rotation, byte ranges, an I-frame playlist,
...) on 127.0.0.1, copies every class to file://<dir> (default ./.colony-demo/out) with the
local runtime, and checks every copy byte for byte against the origin. Uses the Redis at
REDIS_URL, or starts a throwaway redis-server when none answers.`;

type Expected = Record<string, { manifest: string; files: string[] }>;

export async function demoCommand(args: string[], config: Config): Promise<number> {
  const outIndex = args.indexOf('--out');
  const out = resolve(
    outIndex >= 0 && args[outIndex + 1] ? args[outIndex + 1]! : '.colony-demo/out',
  );
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
    const code = await transferCommand(
      [...manifests, '--dest', `file://${out}`, '--source-base', 'hls'],
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
