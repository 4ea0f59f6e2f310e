import { TrimOptions } from '../../schemas/cli.js';
import type { Config } from '../../schemas/config.js';
import { STREAM_NAMES } from '../../schemas/events.js';
import { UsageError } from '../../schemas/errors.js';
import { Keys } from '../../streams/keys.js';
import { connectRedis } from '../../streams/redis.js';
import { verifyRedis } from '../../streams/server-check.js';
import { trimStreams, type ShardTrim } from '../../streams/retention.js';
import { parseArgv } from '../args.js';
import { parseOptions } from '../errors.js';
import { formatBytes } from '../report.js';
import { archiveFor } from './replay.js';

export const trimHelp = `Usage: colony trim [--stream <name>] [--archive [--dest <url>]] [--dry-run] [--json]

Trims the streams (all, or one) of the entries that every consumer group has acknowledged, and
shows the Redis memory this frees. For each shard the safe minimum ID is the oldest of, over
every group, the entry after its last-delivered-id and its oldest pending entry; XTRIM MINID
(exact) removes the entries before it, in one script with that computation so that no group
moves in between. A group that never read (created at 0) keeps everything; a stream that no
group reads (outcomes without downstream consumers, dead) is never trimmed. Remove abandoned
groups (XGROUP DESTROY) or they hold the history forever.

Options:
  --stream <name>   classes, jobs, results, outcomes or dead (default: all)
  --archive         first write the entries to be trimmed, as gzip NDJSON, to the destination
                    under _colony/archive/<prefix>/<stream>/<shard>/<firstId>-<lastId>.ndjson.gz;
                    colony replay and colony reconcile read them back
  --dest <url>      where the archive goes (default COLONY_DEST)
  --dry-run         say what would be trimmed, trim nothing
  --json            print {"shards": [...]}

Redis frees a stream's memory a node (100 entries by default) at a time, so a small trim may
show little saving.`;

export async function trimCommand(args: string[], config: Config): Promise<number> {
  const { values, positionals } = parseArgv(
    args,
    {
      stream: { type: 'string' },
      archive: { type: 'boolean' },
      dest: { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    'trim',
  );
  if (positionals.length)
    throw new UsageError(`unexpected argument ${positionals[0]} (see: colony trim --help)`);
  const opts = parseOptions(TrimOptions, {
    streams: values.stream ? [values.stream] : STREAM_NAMES,
    archive: values.archive ?? false,
    dest: values.dest,
    dryRun: values['dry-run'] ?? false,
    json: values.json ?? false,
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
    else process.stdout.write(formatTrim(shards, opts.dryRun, trimmed, saved) + '\n');
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
): string {
  const lines = shards.map((s) => {
    const head = `${s.key}: ${s.length} entries`;
    if (s.note) return `${head}; ${s.note}`;
    const verb = dryRun ? 'would trim' : 'trimmed';
    const held = s.heldBy ? ` (held from ${s.safeMinId} by group ${s.heldBy})` : '';
    const archived = s.archived.length ? `, archived to ${s.archived.length} objects` : '';
    const memory = dryRun
      ? ''
      : `, memory ${formatBytes(s.memoryBefore)} -> ${formatBytes(s.memoryAfter)}`;
    return `${head}; ${verb} ${s.trimmed}${held}${archived}${memory}`;
  });
  lines.push(
    dryRun
      ? `would trim ${trimmed} entries`
      : `trimmed ${trimmed} entries; Redis memory saved: ${formatBytes(saved)}`,
  );
  return lines.join('\n');
}
