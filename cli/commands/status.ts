import { Command } from 'commander';
import { StatusOptions } from '../../schemas/cli.js';
import {
  jsonDocument,
  StatusDocument,
  type GroupStatus,
  type StatusClass,
} from '../../schemas/cli-output.js';
import type { Config } from '../../schemas/config.js';
import { Keys } from '../../streams/keys.js';
import { connectRedis, probeRedis, type ColonyRedis } from '../../streams/redis.js';
import { plural, prose, runWith, type RawOptions } from '../command-kit.js';
import { parseOptions } from '../errors.js';
import { formatDuration } from '../progress.js';
import { formatBytes } from '../report.js';
import { onStopSignals } from '../signals.js';
import { statusSnapshot } from '../status-snapshot.js';

/** Failed files listed per class in the text output. */
const FAILURES_LISTED = 5;

/** `colony status`: its options and help, in one place. */
export function statusCommand(): Command {
  return new Command('status')
    .summary('classes, progress, group lag and pending')
    .usage('[classId] [options]')
    .description(
      prose(`
Shows every class with its progress, and why a failed class failed (its failed files with
their reasons); then every consumer group of every stream shard (the stages' and any other, a
report or a downstream consumer), with its entries pending (delivered, not yet acked), its lag
(not yet delivered) and its consumers, each alive or dead. A dead consumer (its process is
gone) that holds nothing is removed from its group; one that still holds entries is shown as
dead until a live consumer takes them over.`),
    )
    .argument('[classId]', 'show this class only, with all its failures listed')
    .option('--json', 'print {"classes", "groups", "dead"} on stdout')
    .option('--watch [seconds]', 'redraw every few seconds (default 2) until Ctrl-C, like top')
    .addHelpText(
      'after',
      `
Exit status: 0, or 1 when the class named is not known.`,
    )
    .action((classId: string | undefined, raw: RawOptions) =>
      runWith((config) => runStatus(classId, raw, config), { signals: raw.watch !== undefined }),
    );
}

async function runStatus(
  classId: string | undefined,
  raw: RawOptions,
  config: Config,
): Promise<number> {
  const opts = parseOptions(StatusOptions, {
    classId,
    json: raw.json ?? false,
    watch: raw.watch === true ? '2' : raw.watch,
  });
  await probeRedis(config.redisUrl);
  const redis = await connectRedis(config.redisUrl, 'colony-status');
  const keys = new Keys(config.prefix, config.shards);
  try {
    if (opts.watch === undefined) return await showOnce(redis, keys, opts, config);
    return await watch(redis, keys, opts, config, opts.watch);
  } finally {
    redis.disconnect();
  }
}

async function showOnce(
  redis: ColonyRedis,
  keys: Keys,
  opts: StatusOptions,
  config: Config,
): Promise<number> {
  const doc = await statusSnapshot(redis, keys, opts.classId);
  const unknown = opts.classId !== undefined && doc.classes.length === 0;
  if (opts.json) process.stdout.write(jsonDocument(StatusDocument, doc) + '\n');
  else if (unknown)
    process.stderr.write(`no class ${opts.classId} under prefix ${config.prefix}\n`);
  else process.stdout.write(formatStatus(doc, opts.classId !== undefined) + '\n');
  return unknown ? 1 : 0;
}

/** Redraws the status every `seconds` until SIGINT or SIGTERM: in place on a terminal. */
async function watch(
  redis: ColonyRedis,
  keys: Keys,
  opts: StatusOptions,
  config: Config,
  seconds: number,
): Promise<number> {
  let stop = (): void => {};
  const stopped = new Promise<void>((r) => (stop = r));
  let asked = false;
  const release = onStopSignals(() => {
    asked = true;
    stop();
  });
  const tty = process.stdout.isTTY && !opts.json;
  try {
    while (!asked) {
      const doc = await statusSnapshot(redis, keys, opts.classId);
      const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      if (opts.json) process.stdout.write(JSON.stringify(StatusDocument.parse(doc)) + '\n');
      else {
        const text = `colony status  ${config.prefix}  ${at}  every ${seconds}s\n\n${formatStatus(doc, opts.classId !== undefined)}\n`;
        // Home, draw, clear what is left of the last frame: no flicker, as top does.
        process.stdout.write(tty ? `\x1b[H${text.replace(/\n/g, '\x1b[K\n')}\x1b[J` : `${text}\n`);
      }
      await Promise.race([stopped, new Promise((r) => setTimeout(r, seconds * 1000).unref())]);
    }
    return 0;
  } finally {
    release();
  }
}

/** The status a person reads. */
export function formatStatus(doc: StatusDocument, oneClass: boolean): string {
  const out: string[] = [`classes (${doc.classes.length}):`];
  for (const c of doc.classes) out.push(...classLines(c, oneClass ? Infinity : FAILURES_LISTED));
  out.push(`groups (${doc.groups.length}):`);
  for (const g of doc.groups) out.push(...groupLines(g));
  out.push(`dead letters: ${doc.dead}`);
  return out.join('\n');
}

function classLines(c: StatusClass, listed: number): string[] {
  const lines = [
    `  ${c.status.padEnd(12)} ${c.classId}  ${c.done}/${plural(c.total, 'file')} (${c.copied} copied, ${c.skipped} skipped, ${c.failed} failed) ${formatBytes(c.bytes)}`,
  ];
  for (const f of c.failures.slice(0, listed)) lines.push(`      failed ${f.path}: ${f.reason}`);
  if (c.failed > Math.min(listed, c.failures.length))
    lines.push(
      `      ... and ${c.failed - Math.min(listed, c.failures.length)} more (colony status ${c.classId} --json)`,
    );
  return lines;
}

function groupLines(g: GroupStatus): string[] {
  const lines = [
    `  ${g.key}  ${g.group}${g.stage ? ` (${g.stage} stage)` : ''}  pending ${g.pending}  lag ${g.lag ?? 'unknown'}`,
  ];
  for (const c of g.consumers)
    lines.push(
      `      ${c.name}  ${c.alive ? 'alive' : 'dead'}, ${c.pending} pending, idle ${formatDuration(c.idleMs)}`,
    );
  return lines;
}
