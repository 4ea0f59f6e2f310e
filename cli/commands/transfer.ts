import { Command } from 'commander';
import { ClassState, isFinished } from '../../schemas/class-state.js';
import { TransferOptions } from '../../schemas/cli.js';
import type { Config } from '../../schemas/config.js';
import { classIdFor, requestClass } from '../../consumers/requests/ingest.js';
import { startStages, STAGE_NAMES } from '../../consumers/stages.js';
import { createLogger } from '../../streams/log.js';
import { verifyRedis } from '../../streams/server-check.js';
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
    .option('--source-base <path>', 'leading path of the source URLs to drop from destination keys')
    .option('--concurrency <n>', 'copies in flight (COLONY_CONCURRENCY, default 64)');
  verbosity(cmd, 'no progress line', 'stage logs on stderr');
  return cmd
    .addHelpText(
      'after',
      `
Exit status: 0 when every class was transferred completely, 1 when a class
failed, 2 on bad input or configuration, 130 when interrupted.`,
    )
    .action((manifests: string[], raw: RawOptions) =>
      runWith((config) => runTransfer(transferOptions(manifests, raw, config), config)),
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
  const logger = createLogger(opts.verbose ? 'info' : 'error', 'colony', {
    format: config.logFormat,
  });
  await verifyRedis(config.redisUrl, {
    report: (f) => logger.warn('Redis check', { check: f.check, reason: f.message }),
  });
  const host = await startStages({ config, stages: STAGE_NAMES, logger });
  const { classes, publisher } = host.deps;

  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const progress = new Progress(process.stderr, !opts.quiet);
  try {
    const ids: string[] = [];
    for (const manifestUrl of opts.manifests) {
      const classId = classIdFor(manifestUrl, opts.dest);
      if (!ids.includes(classId)) ids.push(classId);
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
      states = await Promise.all(ids.map((id) => classes.get(id)));
      progress.update(states);
      if (states.every((s) => s && isFinished(s)) || interrupted) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    progress.end();
    if (interrupted) {
      process.stderr.write(
        'interrupted: unfinished work is handed back; run the same command again to resume\n',
      );
      return 130;
    }
    const reports: ClassReport[] = [];
    for (const s of states as ClassState[])
      reports.push(classReport(s, s.failed ? await classes.failures(s.classId) : []));
    process.stderr.write(formatSummary(reports) + '\n');
    if (opts.json) process.stdout.write(JSON.stringify({ classes: reports }, null, 2) + '\n');
    return reports.every((r) => r.status === 'transferred' && r.copied + r.skipped === r.files)
      ? 0
      : 1;
  } finally {
    progress.end();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await host.stop();
  }
}
