import { Command } from 'commander';
import type { Config } from '../../schemas/config.js';
import { DlqOptions } from '../../schemas/cli.js';
import { DlqListDocument, jsonDocument } from '../../schemas/cli-output.js';
import { UsageError } from '../../schemas/errors.js';
import {
  purgeDeadLetters,
  retryDeadLetters,
  selectDeadLetters,
  type StoredDeadLetter,
} from '../../streams/dead-letters.js';
import { Keys } from '../../streams/keys.js';
import { connectRedis } from '../../streams/redis.js';
import { verifyRedis } from '../../streams/server-check.js';
import { plural, prose, runWith, verbosity, type RawOptions } from '../command-kit.js';
import { parseOptions } from '../errors.js';

type Action = 'list' | 'retry' | 'purge';

/** `colony dlq list | retry | purge`: their options and help, in one place. */
export function dlqCommand(): Command {
  const dlq = new Command('dlq')
    .summary('inspect and requeue dead letters')
    .usage('<list | retry | purge> [options]')
    .description(
      prose(`
Dead letters are entries that could not be processed: invalid entries, entries of unknown
classes, and batches delivered more than COLONY_MAX_DELIVERIES times (their files were recorded
failed so that their class ended). Each keeps its original entry, the reason and the history.`),
    );
  const list = filters(
    new Command('list')
      .summary('show dead letters, oldest first')
      .description('Shows dead letters, oldest first.')
      .option('--json', 'print {"deadLetters": [...]} on stdout')
      .option('--limit <n>', 'show at most this many', '1000')
      .allowExcessArguments(false),
  );
  const retry = filters(
    new Command('retry')
      .summary('requeue on the stream they came from')
      .usage('(--all | <id>...) [options]')
      .description(
        prose(`
Requeues dead letters on the stream they came from; a retried batch that now succeeds turns
its class's failed files into copied, and the class is announced again (class-transferred).`),
      )
      .argument('[id...]', 'dead-letter entry ids (from colony dlq list)')
      .option('--all', 'every dead letter that matches the filters')
      .option('--dry-run', 'list what would be requeued, requeue nothing'),
  );
  const purge = filters(
    new Command('purge')
      .summary('delete for good')
      .usage('(--all | <id>...) [options]')
      .description('Deletes dead letters for good.')
      .argument('[id...]', 'dead-letter entry ids (from colony dlq list)')
      .option('--all', 'every dead letter that matches the filters')
      .option('--dry-run', 'list what would be deleted, delete nothing'),
  );
  list.action((raw: RawOptions) => runWith((c) => runDlq('list', [], raw, c)));
  retry.action((ids: string[], raw: RawOptions) => runWith((c) => runDlq('retry', ids, raw, c)));
  purge.action((ids: string[], raw: RawOptions) => runWith((c) => runDlq('purge', ids, raw, c)));
  return dlq.addCommand(list).addCommand(retry).addCommand(purge);
}

/** The filters every dlq subcommand takes. */
function filters(cmd: Command): Command {
  cmd
    .option('--stream <name>', 'only dead letters from this stream (classes, jobs, results, ...)')
    .option('--class <classId>', 'only dead letters of this class');
  return verbosity(cmd, 'print nothing but errors and --json', 'also name each entry acted on');
}

async function runDlq(action: Action, ids: string[], raw: RawOptions, config: Config) {
  const opts = parseOptions(DlqOptions, {
    ids,
    all: raw.all ?? false,
    limit: raw.limit,
    stream: raw.stream,
    class: raw.class,
    json: raw.json ?? false,
  });
  if (action !== 'list' && !opts.all && ids.length === 0)
    throw new UsageError(`dlq ${action}: name entry ids or pass --all`);

  await verifyRedis(config.redisUrl);
  const redis = await connectRedis(config.redisUrl, 'colony-dlq');
  try {
    const keys = new Keys(config.prefix, config.shards);
    const letters: StoredDeadLetter[] = await selectDeadLetters(
      redis,
      keys,
      {
        ids,
        ...(opts.stream ? { stream: opts.stream } : {}),
        ...(opts.class ? { classId: opts.class } : {}),
      },
      action === 'list' ? (opts.limit ?? 1000) : Number.MAX_SAFE_INTEGER,
    );
    if (action === 'list') {
      if (opts.json) {
        process.stdout.write(jsonDocument(DlqListDocument, { deadLetters: letters }) + '\n');
      } else if (letters.length === 0) {
        if (!raw.quiet) process.stdout.write('no dead letters\n');
      } else {
        for (const l of letters) process.stdout.write(describe(l) + '\n');
      }
      return 0;
    }
    if (raw.dryRun) {
      for (const l of letters) process.stdout.write(`would ${action} ${describe(l)}\n`);
      process.stdout.write(`would ${action} ${plural(letters.length, 'dead letter')}\n`);
      return 0;
    }
    if (raw.verbose)
      for (const l of letters) process.stderr.write(`${action} ${l.id} (${l.key})\n`);
    const n =
      action === 'retry'
        ? await retryDeadLetters(redis, keys, letters)
        : await purgeDeadLetters(redis, letters);
    if (!raw.quiet)
      process.stdout.write(
        `${action === 'retry' ? 'requeued' : 'purged'} ${n} of ${plural(letters.length, 'dead letter')}\n`,
      );
    return n === letters.length ? 0 : 1;
  } finally {
    redis.disconnect();
  }
}

/** One dead letter on one line: id, origin, deliveries, when, why. */
function describe(l: StoredDeadLetter): string {
  const d = l.letter;
  return d
    ? `${l.id}  ${d.stream}/${d.group}  ${plural(d.deliveries, 'delivery', 'deliveries')}  ${new Date(d.deadAt).toISOString()}  ${d.reason}`
    : `${l.id}  unreadable dead letter: ${l.error}`;
}
