import { openDestination } from '../../copy/destinations/open-destination.js';
import type { Destination } from '../../copy/destinations/destination.js';
import { ReplayOptions } from '../../schemas/cli.js';
import type { Config } from '../../schemas/config.js';
import { UsageError } from '../../schemas/errors.js';
import { StreamArchive } from '../../streams/archive.js';
import { Keys } from '../../streams/keys.js';
import { connectRedis } from '../../streams/redis.js';
import { verifyRedis } from '../../streams/server-check.js';
import { attachGroup, readHistory } from '../../streams/replay.js';
import { compareIds, parsePosition } from '../../streams/stream-ids.js';
import { parseArgv } from '../args.js';
import { parseOptions } from '../errors.js';

export const replayHelp = `Usage: colony replay --stream <name> [--from <pos>] [--to <pos>] [--group <name>] [--json]

Replays the audit log of a stream: classes, jobs, results, outcomes or dead.

Without --group, prints the history as NDJSON on stdout, one line per entry over every shard of
the stream, archived entries first (see colony trim --archive), then those still in Redis, in ID
order within a shard:
  {"id", "stream": "<key>", "shard", "source": "redis"|"archive", "entry": {...}}
and for an entry that fails validation, its raw fields and the reason:
  {"id", "stream", "shard", "source", "fields": {...}, "error": "..."}

With --group, creates a new consumer group on every shard, positioned at --from (default 0:
the whole history still in Redis; $: only new entries), so that a consumer started with that
group name replays the history. A group never reads the archive: entries trimmed before --from
are only in the NDJSON replay.

Options:
  --stream <name>      classes, jobs, results, outcomes or dead
  --from <pos>         first entry: a stream ID (1700000000000-0), unix ms or an ISO time
  --to <pos>           last entry (inclusive), same forms; not with --group
  --group <name>       create this consumer group instead of printing
  --dest <url>         where the archive is (default COLONY_DEST); none: Redis only
  --no-archive         read Redis only
  --json               with --group: print the created group as JSON`;

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

export async function replayCommand(args: string[], config: Config): Promise<number> {
  const { values, positionals } = parseArgv(
    args,
    {
      stream: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      group: { type: 'string' },
      dest: { type: 'string' },
      'no-archive': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    'replay',
  );
  if (positionals.length)
    throw new UsageError(`unexpected argument ${positionals[0]} (see: colony replay --help)`);
  if (values.stream === undefined)
    throw new UsageError('--stream: name a stream: classes, jobs, results, outcomes or dead');
  const opts = parseOptions(ReplayOptions, {
    stream: values.stream,
    from: values.from,
    to: values.to,
    group: values.group,
    dest: values.dest,
    json: values.json ?? false,
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
  const { archive, destination } = values['no-archive'] ? {} : archiveFor(config, opts.dest);
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
    }
    process.stderr.write(`${n} entries of ${opts.stream}\n`);
    return 0;
  } finally {
    await destination?.close();
    redis.disconnect();
  }
}
