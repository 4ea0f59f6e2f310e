import { Command } from 'commander';
import { ClassState, isFinished } from '../../schemas/class-state.js';
import { TransferOptions } from '../../schemas/cli.js';
import { jsonDocument, TransferDocument } from '../../schemas/cli-output.js';
import type { Config } from '../../schemas/config.js';
import { classIdFor, requestClass } from '../../consumers/requests/ingest.js';
import { startStages, STAGE_NAMES } from '../../consumers/stages.js';
import { ClassStore } from '../../streams/class-store.js';
import { Keys } from '../../streams/keys.js';
import { createLogger, type Logger } from '../../streams/log.js';
import { connectRedis } from '../../streams/redis.js';
import { verifyRedis } from '../../streams/server-check.js';
import { dryRun } from '../dry-run.js';
import { preflight } from '../preflight.js';
import { onStopSignals, signalStatus } from '../signals.js';
import { prose, requiredDest, runWith, verbosity, type RawOptions } from '../command-kit.js';
import { parseOptions } from '../errors.js';
import { Progress } from '../progress.js';
import { classReport, formatSummary, type ClassReport } from '../report.js';

/** `colony transfer`: its options and help, in one place. */
export function transferCommand(): Command {
  const cmd = new Command('transfer')
    .summary('copy classes now, every stage in this process')
    .usage('<manifestUrl>... --dest <url> [options]')
    .description(
      prose(`
Copies every file of each class (an HLS master or media playlist and everything it names) to
the destination, verifies each copy, and runs every stage in this process until each class is
transferred or failed. Progress goes to stderr. Running the same command again resumes
unfinished classes and reports finished ones as they stand.`),
    )
    .argument('[manifestUrl...]', 'http(s):// URLs of master or media playlists')
    .option(
      '--dest <url>',
      's3://bucket/prefix, file:///abs/dir or a path (default COLONY_DEST); required',
    )
    .option('--json', 'print one JSON report on stdout')
    .option(
      '--dry-run',
      'crawl each class and list what would be copied (<dest key> TAB <source URL> per file), copy nothing',
    )
    .option('--source-base <path>', 'leading path of the source URLs to drop from destination keys')
    .option('--concurrency <n>', 'copies in flight (COLONY_CONCURRENCY, default 64)');
  verbosity(cmd, 'no progress line', 'stage logs on stderr');
  return cmd
    .addHelpText(
      'after',
      `
Exit status: 0 when every class was transferred completely, 1 when a class
failed or the destination or a manifest cannot be used, 2 on bad input or
configuration, 130 or 143 when interrupted by SIGINT or SIGTERM.`,
    )
    .action((manifests: string[], raw: RawOptions) =>
      runWith((config) => runTransfer(transferOptions(manifests, raw, config), config), {
        signals: true,
      }),
    );
}

/** Resolves the options of `colony transfer` against the environment's configuration. */
export function transferOptions(
  manifests: string[],
  raw: RawOptions,
  config: Config,
): TransferOptions {
  return parseOptions(TransferOptions, {
    manifests,
    dest: requiredDest(raw.dest as string | undefined, config, 'transfer'),
    json: raw.json ?? false,
    dryRun: raw.dryRun ?? false,
    sourceBase: raw.sourceBase,
    concurrency: raw.concurrency,
    quiet: raw.quiet ?? false,
    verbose: raw.verbose ?? false,
  });
}

/** Enqueues the classes, runs every stage here until each is finished, and reports them. */
export async function runTransfer(opts: TransferOptions, baseConfig: Config): Promise<number> {
  const config: Config = {
    ...baseConfig,
    concurrency: opts.concurrency ?? baseConfig.concurrency,
    dest: opts.dest,
  };
  let interrupted: NodeJS.Signals | undefined;
  const release = onStopSignals((signal) => {
    interrupted = signal;
  });
  const logger = createLogger(opts.verbose ? 'info' : 'error', 'colony', {
    format: config.logFormat,
  });
  try {
    await verifyRedis(config.redisUrl, {
      report: (f) => logger.warn('Redis check', { check: f.check, reason: f.message }),
    });
    const classes = [...new Map(opts.manifests.map((m) => [classIdFor(m, opts.dest), m]))].map(
      ([classId, manifestUrl]) => ({ classId, manifestUrl }),
    );
    const before = await statesOf(
      config,
      classes.map((c) => c.classId),
    );
    const inputs = classes.map((c, i) => ({ ...c, state: before[i] }));
    if (opts.dryRun)
      return await dryRun(inputs, {
        dest: opts.dest,
        sourceBase: opts.sourceBase,
        json: opts.json,
        config,
      });
    // Only classes with work left are checked: a class transferred already is reported as it
    // stands, even when its origin is gone.
    const todo = inputs.filter((c) => c.state?.status !== 'transferred');
    await preflight({
      manifests: todo.map((c) => c.manifestUrl),
      dest: todo.length ? opts.dest : undefined,
      config,
    });
    // Stopped before anything was enqueued: nothing to hand back.
    if (interrupted) return signalStatus(interrupted);
    return await runStages(opts, config, logger, classes, () => interrupted);
  } finally {
    release();
  }
}

/** The classes' states before this run, read on a connection of its own. */
async function statesOf(config: Config, ids: readonly string[]) {
  const redis = await connectRedis(config.redisUrl, 'colony-transfer');
  try {
    const store = new ClassStore(redis, new Keys(config.prefix, config.shards));
    return await Promise.all(ids.map((id) => store.get(id)));
  } finally {
    redis.disconnect();
  }
}

async function runStages(
  opts: TransferOptions,
  config: Config,
  logger: Logger,
  requested: readonly { classId: string; manifestUrl: string }[],
  interrupted: () => NodeJS.Signals | undefined,
): Promise<number> {
  const host = await startStages({ config, stages: STAGE_NAMES, logger });
  const { classes, publisher } = host.deps;
  const progress = new Progress(process.stderr, !opts.quiet);
  try {
    for (const { classId, manifestUrl } of requested) {
      // A class left queued by an earlier run is enqueued again at once: that run is over, and a
      // duplicate entry costs nothing.
      await requestClass(
        classes,
        publisher,
        { classId, manifestUrl, dest: opts.dest, sourceBase: opts.sourceBase },
        { presumeLostAfterMs: 0 },
      );
    }
    let states: (ClassState | undefined)[] = [];
    for (;;) {
      states = await Promise.all(requested.map((c) => classes.get(c.classId)));
      progress.update(states);
      if (states.every((s) => s && isFinished(s)) || interrupted()) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    progress.end();
    const signal = interrupted();
    if (signal) {
      process.stderr.write(
        'interrupted: unfinished work is handed back; run the same command again to resume\n',
      );
      return signalStatus(signal);
    }
    const reports: ClassReport[] = [];
    for (const s of states as ClassState[])
      reports.push(classReport(s, s.failed ? await classes.failures(s.classId) : []));
    process.stderr.write(formatSummary(reports) + '\n');
    if (opts.json)
      process.stdout.write(jsonDocument(TransferDocument, { classes: reports }) + '\n');
    return reports.every((r) => r.status === 'transferred' && r.copied + r.skipped === r.files)
      ? 0
      : 1;
  } finally {
    progress.end();
    await host.stop();
  }
}
