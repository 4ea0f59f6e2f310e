import { Command } from 'commander';
import { StatusOptions } from '../../schemas/cli.js';
import type { Config } from '../../schemas/config.js';
import { STAGE_NAMES, STAGE_STREAMS } from '../../consumers/stages.js';
import { ClassStore } from '../../streams/class-store.js';
import { Keys } from '../../streams/keys.js';
import { readPipelineStatus } from '../../streams/pipeline-status.js';
import { connectRedis, probeRedis } from '../../streams/redis.js';
import { prose, runWith, type RawOptions } from '../command-kit.js';
import { parseOptions } from '../errors.js';
import { formatBytes } from '../report.js';

/** `colony status`: its options and help, in one place. */
export function statusCommand(): Command {
  return new Command('status')
    .summary('classes, progress, group lag and pending')
    .usage('[classId] [options]')
    .description(
      prose(`
Shows every class with its progress, and for each stage's consumer group on each stream shard:
its consumers, entries pending (delivered, not yet acked) and lag (not yet delivered).`),
    )
    .argument('[classId]', 'show this class only')
    .option('--json', 'print {"classes", "groups", "dead"} on stdout')
    .addHelpText(
      'after',
      `
Exit status: 0, or 1 when the class named is not known.`,
    )
    .action((classId: string | undefined, raw: RawOptions) =>
      runWith((config) => runStatus(classId, raw, config)),
    );
}

type GroupStatus = {
  stage: string;
  stream: string;
  group: string;
  consumers: string[];
  pending: number;
  lag: number | null;
};

async function runStatus(
  classId: string | undefined,
  raw: RawOptions,
  config: Config,
): Promise<number> {
  const opts = parseOptions(StatusOptions, { classId, json: raw.json ?? false });
  await probeRedis(config.redisUrl);
  const redis = await connectRedis(config.redisUrl, 'colony-status');
  try {
    const keys = new Keys(config.prefix, config.shards);
    const store = new ClassStore(redis, keys);
    const ids = opts.classId ? [opts.classId] : await store.list(1000);
    const classes = (await Promise.all(ids.map((id) => store.get(id)))).filter(
      (c) => c !== undefined,
    );
    // The stage groups, from the reader the dashboard uses too.
    const pipeline = await readPipelineStatus(redis, keys);
    const groups: GroupStatus[] = [];
    for (const stage of STAGE_NAMES) {
      const { stream, group } = STAGE_STREAMS[stage];
      for (const s of pipeline.streams.filter((p) => p.stream === stream)) {
        const g = s.groups.find((x) => x.name === group);
        if (!g) continue;
        groups.push({
          stage,
          stream: s.key,
          group,
          consumers: g.consumers.map((c) => `${c.name} (${c.pending} pending)`),
          pending: g.pending,
          lag: g.lag,
        });
      }
    }
    const dead = [pipeline.deadLetters];
    if (opts.json) {
      process.stdout.write(
        JSON.stringify({ classes, groups, dead: dead.reduce((a, b) => a + b, 0) }, null, 2) + '\n',
      );
      return opts.classId && classes.length === 0 ? 1 : 0;
    }
    if (opts.classId && classes.length === 0) {
      process.stderr.write(`no class ${opts.classId} under prefix ${config.prefix}\n`);
      return 1;
    }
    const out: string[] = [`classes (${classes.length}):`];
    for (const c of classes) {
      out.push(
        `  ${c.status.padEnd(11)} ${c.classId}  ${c.done}/${c.total} files (${c.copied} copied, ${c.skipped} skipped, ${c.failed} failed) ${formatBytes(c.bytes)}`,
      );
    }
    out.push('groups:');
    for (const g of groups) {
      out.push(
        `  ${g.stage.padEnd(10)} ${g.stream}  pending ${g.pending}  lag ${g.lag ?? 'unknown'}`,
      );
      for (const c of g.consumers) out.push(`      ${c}`);
    }
    out.push(`dead letters: ${dead.reduce((a, b) => a + b, 0)}`);
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } finally {
    redis.disconnect();
  }
}
