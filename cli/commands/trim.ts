import { Command } from 'commander';
import { TrimOptions } from '../../schemas/cli.js';
import type { Config } from '../../schemas/config.js';
import { STREAM_NAMES } from '../../schemas/events.js';
import { UsageError } from '../../schemas/errors.js';
import { Keys } from '../../streams/keys.js';
import { connectRedis } from '../../streams/redis.js';
import { verifyRedis } from '../../streams/server-check.js';
import { trimStreams, type ShardTrim } from '../../streams/retention.js';
import { destUrl, plural, prose, runWith, verbosity, type RawOptions } from '../command-kit.js';
import { parseOptions } from '../errors.js';
import { formatBytes } from '../report.js';
import { archiveFor } from './replay.js';

/** `colony trim`: its options and help, in one place. */
export function trimCommand(): Command {
  const cmd = new Command('trim')
    .summary('trim what every group acked; show memory saved')
    .usage('[--stream <name>] [--archive] [--dry-run] [options]')
    .description(
      prose(`
Trims the streams (all, or one) of the entries that every consumer group has acknowledged,
and shows the Redis memory this frees. For each shard the safe minimum ID is the oldest of,
over every group, the entry after its last-delivered-id and its oldest pending entry; XTRIM
MINID (exact) removes the entries before it, in one script with that computation so that no
group moves in between. A group that never read (created at 0) keeps everything; a stream
that no group reads (outcomes without downstream consumers, dead) is never trimmed. Remove
abandoned groups (XGROUP DESTROY) or they hold the history forever.`),
    )
    .option('--stream <name>', `${STREAM_NAMES.join(', ')} (default: all)`)
    .option(
      '--archive',
      'first write the entries to be trimmed, as gzip NDJSON, to the destination under _colony/archive/<prefix>/<stream>/<shard>/<firstId>-<lastId>.ndjson.gz; colony replay and colony reconcile read them back',
    )
    .option('--dest <url>', 'where the archive goes (default COLONY_DEST)')
    .option('--dry-run', 'say what would be trimmed, trim nothing')
    .option('--json', 'print {"dryRun", "trimmed", "memorySavedBytes", "shards": [...]}');
  verbosity(cmd, 'print only the total', "also list each shard's groups and positions");
  return cmd
    .allowExcessArguments(false)
    .addHelpText(
      'after',
      `
Redis frees a stream's memory a node (100 entries by default) at a time, so a
small trim may show little saving.`,
    )
    .action((raw: RawOptions) => runWith((config) => runTrim(raw, config)));
}

async function runTrim(raw: RawOptions, config: Config): Promise<number> {
  const opts = parseOptions(TrimOptions, {
    streams: raw.stream ? [raw.stream] : STREAM_NAMES,
    archive: raw.archive ?? false,
    dest: destUrl(raw.dest as string | undefined),
    dryRun: raw.dryRun ?? false,
    json: raw.json ?? false,
  });
  if (opts.archive && !opts.dest && !config.dest)
    throw new UsageError('--archive: name where the archive goes with --dest (or set COLONY_DEST)');
  await verifyRedis(config.redisUrl);
  const redis = await connectRedis(config.redisUrl, 'colony-trim');
  const { archive, destination } = opts.archive ? archiveFor(config, opts.dest) : {};
  try {
    const shards = await trimStreams(
      { redis, keys: new Keys(config.prefix, config.shards), archive, dryRun: opts.dryRun },
      opts.streams,
    );
    const saved = shards.reduce((a, s) => a + s.memoryBefore - s.memoryAfter, 0);
    const trimmed = shards.reduce((a, s) => a + s.trimmed, 0);
    if (opts.json)
      process.stdout.write(
        JSON.stringify({ dryRun: opts.dryRun, trimmed, memorySavedBytes: saved, shards }, null, 2) +
          '\n',
      );
    else
      process.stdout.write(
        formatTrim(raw.quiet ? [] : shards, opts.dryRun, trimmed, saved, raw.verbose === true) +
          '\n',
      );
    return 0;
  } finally {
    await destination?.close();
    redis.disconnect();
  }
}

function formatTrim(
  shards: readonly ShardTrim[],
  dryRun: boolean,
  trimmed: number,
  saved: number,
  verbose: boolean,
): string {
  const lines = shards.flatMap((s) => {
    const line = shardLine(s, dryRun);
    if (!verbose) return [line];
    return [
      line,
      ...s.groups.map(
        (g) =>
          `    group ${g.group}: last delivered ${g.lastDeliveredId}, ${g.pending} pending, needs ${g.firstNeededId} on`,
      ),
    ];
  });
  lines.push(
    dryRun
      ? `would trim ${plural(trimmed, 'entry', 'entries')}`
      : `trimmed ${plural(trimmed, 'entry', 'entries')}; Redis memory saved: ${formatBytes(saved)}`,
  );
  return lines.join('\n');
}

function shardLine(s: ShardTrim, dryRun: boolean): string {
  const head = `${s.key}: ${plural(s.length, 'entry', 'entries')}`;
  if (s.note) return `${head}; ${s.note}`;
  const verb = dryRun ? 'would trim' : 'trimmed';
  const held = s.heldBy ? ` (held from ${s.safeMinId} by group ${s.heldBy})` : '';
  const archived = s.archived.length ? `, archived to ${plural(s.archived.length, 'object')}` : '';
  const memory = dryRun
    ? ''
    : `, memory ${formatBytes(s.memoryBefore)} -> ${formatBytes(s.memoryAfter)}`;
  return `${head}; ${verb} ${s.trimmed}${held}${archived}${memory}`;
}
