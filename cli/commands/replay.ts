import { openDestination } from '../../copy/destinations/open-destination.js';
import type { Destination } from '../../copy/destinations/destination.js';
import { Command } from 'commander';
import { ReplayOptions } from '../../schemas/cli.js';
import type { Config } from '../../schemas/config.js';
import { UsageError } from '../../schemas/errors.js';
import { STREAM_NAMES } from '../../schemas/events.js';
import { StreamArchive } from '../../streams/archive.js';
import { Keys } from '../../streams/keys.js';
import { connectRedis } from '../../streams/redis.js';
import { verifyRedis } from '../../streams/server-check.js';
import { attachGroup, readHistory } from '../../streams/replay.js';
import { compareIds, parsePosition } from '../../streams/stream-ids.js';
import { destUrl, plural, prose, runWith, verbosity, type RawOptions } from '../command-kit.js';
import { parseOptions } from '../errors.js';

/** `colony replay`: its options and help, in one place. */
export function replayCommand(): Command {
  const cmd = new Command('replay')
    .summary('print the audit log, or attach a group at an ID')
    .usage('--stream <name> [--from <pos>] [--group g] [options]')
    .description(
      prose(`
Replays the audit log of a stream: ${STREAM_NAMES.join(', ')}.

Without --group, prints the history as NDJSON on stdout, one line per entry over every shard
of the stream, archived entries first (see colony trim --archive), then those still in Redis,
in ID order within a shard:

  {"id", "stream": "<key>", "shard", "source": "redis"|"archive", "entry": {...}}

and for an entry that fails validation, its raw fields and the reason:

  {"id", "stream", "shard", "source", "fields": {...}, "error": "..."}

With --group, creates a new consumer group on every shard, positioned at --from (default 0:
the whole history still in Redis; $: only new entries), so that a consumer started with that
group name replays the history. A group never reads the archive: entries trimmed before
--from are only in the NDJSON replay.`),
    )
    .option('--stream <name>', `the stream: ${STREAM_NAMES.join(', ')}; required`)
    .option('--from <pos>', 'first entry: a stream ID (1700000000000-0), unix ms or an ISO time')
    .option('--to <pos>', 'last entry (inclusive), same forms; not with --group')
    .option('--group <name>', 'create this consumer group instead of printing')
    .option('--dest <url>', 'where the archive is (default COLONY_DEST); none: Redis only')
    .option('--no-archive', 'read Redis only')
    .option('--json', 'with --group: print the created group as JSON');
  verbosity(
    cmd,
    'no count of entries on stderr',
    'count the entries from the archive and from Redis',
  );
  return cmd
    .allowExcessArguments(false)
    .action((raw: RawOptions) => runWith((config) => runReplay(raw, config)));
}

/** Writes a line, waiting when stdout is full: a replay of millions of entries stays flat. */
async function writeLine(line: string): Promise<void> {
  if (!process.stdout.write(line + '\n')) await new Promise((r) => process.stdout.once('drain', r));
}

/** The archive of trimmed entries, when a destination is known. */
export function archiveFor(
  config: Config,
  dest: string | undefined,
): { archive?: StreamArchive; destination?: Destination } {
  const url = dest ?? config.dest;
  if (!url) return {};
  const destination = openDestination(url, {
    endpoint: config.s3Endpoint,
    forcePathStyle: config.s3ForcePathStyle,
  });
  return { archive: new StreamArchive(destination, config.prefix), destination };
}

async function runReplay(raw: RawOptions, config: Config): Promise<number> {
  if (raw.stream === undefined)
    throw new UsageError(
      `--stream is required: name a stream: ${STREAM_NAMES.join(', ')} (see: colony replay --help)`,
    );
  const opts = parseOptions(ReplayOptions, {
    stream: raw.stream,
    from: raw.from,
    to: raw.to,
    group: raw.group,
    dest: destUrl(raw.dest as string | undefined),
    json: raw.json ?? false,
  });
  if (opts.group && opts.to !== undefined)
    throw new UsageError('--to: a group reads on from --from; leave out --to with --group');
  const from =
    opts.from === undefined
      ? undefined
      : opts.group && opts.from.trim() === '$'
        ? '$'
        : parsePosition(opts.from, 'start');
  const to = opts.to === undefined ? undefined : parsePosition(opts.to, 'end');
  if (from && from !== '$' && to && compareIds(from, to) > 0)
    throw new UsageError('--from is after --to');

  // `colony replay ... | head`: a closed pipe ends the replay, quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  await verifyRedis(config.redisUrl);
  const redis = await connectRedis(config.redisUrl, 'colony-replay');
  const keys = new Keys(config.prefix, config.shards);
  const { archive, destination } = raw.archive === false ? {} : archiveFor(config, opts.dest);
  try {
    if (opts.group) {
      const shards = await attachGroup(redis, keys, opts.stream, opts.group, from ?? '0');
      if (opts.json)
        process.stdout.write(
          JSON.stringify({ stream: opts.stream, group: opts.group, shards }, null, 2) + '\n',
        );
      else {
        for (const s of shards) {
          process.stdout.write(
            `created group ${opts.group} on ${s.key}; its first read delivers the entries after ${s.lastDeliveredId}\n`,
          );
        }
      }
      if (archive && from !== '$') {
        const trimmed = await Promise.all(
          keys.allShards(opts.stream).map((_, shard) => archive.chunks(opts.stream, shard)),
        );
        if (trimmed.some((c) => c.length)) {
          process.stderr.write(
            'note: some of this history was trimmed and is only in the archive; colony replay without --group prints it\n',
          );
        }
      }
      return 0;
    }
    let n = 0;
    let archived = 0;
    for await (const e of readHistory({ redis, keys, stream: opts.stream, from, to, archive })) {
      const head = { id: e.id, stream: e.key, shard: e.shard, source: e.source };
      await writeLine(
        JSON.stringify(
          e.error === undefined
            ? { ...head, entry: e.event }
            : { ...head, fields: e.fields, error: e.error },
        ),
      );
      n++;
      if (e.source === 'archive') archived++;
    }
    const where = raw.verbose ? ` (${archived} from the archive, ${n - archived} from Redis)` : '';
    if (!raw.quiet)
      process.stderr.write(`${plural(n, 'entry', 'entries')} of ${opts.stream}${where}\n`);
    return 0;
  } finally {
    await destination?.close();
    redis.disconnect();
  }
}
