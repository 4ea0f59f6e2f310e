import type { Config } from '../../schemas/config.js';
import { STREAM_NAMES, type StreamName } from '../../schemas/events.js';
import { UsageError } from '../../schemas/errors.js';
import {
  purgeDeadLetters,
  retryDeadLetters,
  selectDeadLetters,
  type StoredDeadLetter,
} from '../../streams/dead-letters.js';
import { Keys } from '../../streams/keys.js';
import { connectRedis, probeRedis } from '../../streams/redis.js';
import { parseArgv } from '../args.js';

export const dlqHelp = `Usage: colony dlq <list | retry | purge> [options]

Dead letters are entries that could not be processed: invalid entries, entries of unknown
classes, and batches delivered more than COLONY_MAX_DELIVERIES times (their files were recorded
failed so that their class ended). Each keeps its original entry, the reason and the history.

  colony dlq list [--json] [--limit N]          show dead letters, oldest first
  colony dlq retry (--all | <id>...)            requeue on the stream they came from; a retried
                                                batch that now succeeds turns its class's
                                                failed files into copied, and the class is
                                                announced again (class-transferred)
  colony dlq purge (--all | <id>...)            delete for good

Filters for every subcommand: --stream <classes|jobs|results|...>, --class <classId>.`;

export async function dlqCommand(args: string[], config: Config): Promise<number> {
  const { values, positionals } = parseArgv(
    args,
    {
      json: { type: 'boolean' },
      all: { type: 'boolean' },
      limit: { type: 'string' },
      stream: { type: 'string' },
      class: { type: 'string' },
    },
    'dlq',
  );
  const [action, ...ids] = positionals;
  if (!action || !['list', 'retry', 'purge'].includes(action))
    throw new UsageError('name a subcommand: list, retry or purge (see: colony dlq --help)');
  if (values.stream && !(STREAM_NAMES as string[]).includes(values.stream)) {
    throw new UsageError(`--stream: expected one of ${STREAM_NAMES.join(', ')}`);
  }
  const limit = values.limit === undefined ? 1000 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError('--limit expects a whole number above 0');
  if (action !== 'list' && !values.all && ids.length === 0)
    throw new UsageError(`dlq ${action}: name entry ids or pass --all`);

  await probeRedis(config.redisUrl);
  const redis = await connectRedis(config.redisUrl, 'colony-dlq');
  try {
    const keys = new Keys(config.prefix, config.shards);
    const letters: StoredDeadLetter[] = await selectDeadLetters(
      redis,
      keys,
      {
        ids,
        ...(values.stream ? { stream: values.stream as StreamName } : {}),
        ...(values.class ? { classId: values.class } : {}),
      },
      action === 'list' ? limit : Number.MAX_SAFE_INTEGER,
    );
    if (action === 'list') {
      if (values.json) {
        process.stdout.write(JSON.stringify({ deadLetters: letters }, null, 2) + '\n');
      } else if (letters.length === 0) {
        process.stdout.write('no dead letters\n');
      } else {
        for (const l of letters) {
          const d = l.letter;
          process.stdout.write(
            d
              ? `${l.id}  ${d.stream}/${d.group}  ${d.deliveries} deliveries  ${new Date(d.deadAt).toISOString()}  ${d.reason}\n`
              : `${l.id}  unreadable dead letter: ${l.error}\n`,
          );
        }
      }
      return 0;
    }
    const n =
      action === 'retry'
        ? await retryDeadLetters(redis, keys, letters)
        : await purgeDeadLetters(redis, letters);
    process.stdout.write(
      `${action === 'retry' ? 'requeued' : 'purged'} ${n} of ${letters.length} dead letters\n`,
    );
    return n === letters.length ? 0 : 1;
  } finally {
    redis.disconnect();
  }
}
