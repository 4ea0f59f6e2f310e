import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { ReportOptions } from '../../schemas/cli.js';
import type { Config } from '../../schemas/config.js';
import {
  runReportConsumer,
  type ClassTransferReport,
  type OverallReport,
  type TransferReport,
} from '../../consumers/audit/report.js';
import { consumerName } from '../../streams/liveness.js';
import { Keys } from '../../streams/keys.js';
import { connectReader, connectRedis } from '../../streams/redis.js';
import { verifyRedis } from '../../streams/server-check.js';
import { detachGroup } from '../../streams/replay.js';
import { destUrl, prose, runWith, verbosity, type RawOptions } from '../command-kit.js';
import { parseOptions } from '../errors.js';
import { formatBytes } from '../report.js';
import { archiveFor } from './replay.js';

/** `colony report`: its options and help, in one place. */
export function reportCommand(): Command {
  const cmd = new Command('report')
    .summary('transfer report from a reporting group')
    .usage('[--format md|json|csv] [--follow] [options]')
    .description(
      prose(`
Builds a transfer report per class and overall (files, copied, skipped, failed, bytes,
duration, throughput, retries) from the results and outcomes streams, as a reporting consumer:
it attaches a consumer group of its own at 0 to every shard of both streams and reads the
whole history, then (with --follow) live events. It is one more group: the pipeline neither
waits for it nor changes, and it acks what it reads.`),
    )
    .option('--format <f>', 'md (default), json or csv')
    .option(
      '--group <name>',
      'use this group, and keep it after exit (it shows in colony status, and colony trim keeps what it has not read); an existing group resumes where it stood, so its report covers only what it reads now. Without --group a temporary group report-<host>-<random> is created at 0 and removed on exit',
    )
    .option(
      '--follow',
      'keep reading live events and print the report again as it changes, until SIGINT or SIGTERM',
    )
    .option('--interval <ms>', 'with --follow: at most one report per interval (default 2000)')
    .option(
      '--dest <url>',
      'where the archive of trimmed entries is (default COLONY_DEST): a new group reads it first, so the report still covers what colony trim removed',
    )
    .option('--no-archive', 'read Redis only');
  verbosity(cmd, 'no notes on stderr', 'name every invalid entry skipped, not only the first 20');
  return cmd
    .allowExcessArguments(false)
    .action((raw: RawOptions) => runWith((config) => runReport(raw, config)));
}

/** A Markdown table of the report. */
export function formatMarkdown(
  classes: readonly ClassTransferReport[],
  total: OverallReport,
): string {
  const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    '# Transfer report',
    '',
    row([
      'class',
      'status',
      'files',
      'copied',
      'skipped',
      'failed',
      'bytes',
      'duration',
      'throughput',
      'retries',
    ]),
    row(['---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
  ];
  const figures = (
    c: Omit<OverallReport, 'classes' | 'transferred' | 'failedClasses' | 'inProgress'>,
  ) => [
    c.files,
    c.copied,
    c.skipped,
    c.failed,
    formatBytes(c.bytes),
    `${(c.durationMs / 1000).toFixed(1)} s`,
    `${formatBytes(c.bytesPerSecond)}/s`,
    c.retries,
  ];
  for (const c of classes) lines.push(row([c.classId, c.status, ...figures(c)]));
  lines.push(
    row([
      `**total: ${total.classes} class${total.classes === 1 ? '' : 'es'}**`,
      `${total.transferred} transferred, ${total.failedClasses} failed, ${total.inProgress} in progress`,
      ...figures(total),
    ]),
  );
  return lines.join('\n');
}

/** CSV with a header, one row per class and a last row `*` for the totals. */
export function formatCsv(classes: readonly ClassTransferReport[], total: OverallReport): string {
  const cols = [
    'classId',
    'status',
    'run',
    'files',
    'copied',
    'skipped',
    'failed',
    'bytes',
    'durationMs',
    'bytesPerSecond',
    'retries',
  ] as const;
  const cell = (v: unknown) =>
    /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v ?? '');
  const lines = [cols.join(',')];
  for (const c of classes) lines.push(cols.map((k) => cell(c[k])).join(','));
  lines.push(
    cols
      .map((k) =>
        cell(
          k === 'classId'
            ? '*'
            : k === 'status'
              ? `${total.transferred}/${total.classes} transferred`
              : k === 'run'
                ? ''
                : total[k],
        ),
      )
      .join(','),
  );
  return lines.join('\n');
}

function render(format: 'md' | 'json' | 'csv', report: TransferReport, group: string): string {
  const classes = report.classes();
  const overall = report.overall(classes);
  if (format === 'json')
    return JSON.stringify(
      { generatedAt: new Date().toISOString(), group, classes, overall },
      null,
      2,
    );
  return format === 'csv' ? formatCsv(classes, overall) : formatMarkdown(classes, overall);
}

async function runReport(raw: RawOptions, config: Config): Promise<number> {
  const opts = parseOptions(ReportOptions, {
    format: raw.format,
    group: raw.group,
    follow: raw.follow ?? false,
    interval: raw.interval,
  });
  const temporary = opts.group === undefined;
  const group =
    opts.group ??
    `report-${hostname()
      .replace(/[^A-Za-z0-9.-]/g, '-')
      .slice(0, 40)}-${randomBytes(3).toString('hex')}`;
  await verifyRedis(config.redisUrl);
  const redis = await connectRedis(config.redisUrl, 'colony-report');
  const keys = new Keys(config.prefix, config.shards);
  const reader = await connectReader(redis, keys.stream('results'), 'colony-report-reader');
  const { archive, destination } =
    raw.archive === false ? {} : archiveFor(config, destUrl(raw.dest as string | undefined));
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let lastPrint = 0;
  let timer: NodeJS.Timeout | undefined;
  let latest: TransferReport | undefined;
  const print = () => {
    timer = undefined;
    lastPrint = Date.now();
    if (latest) process.stdout.write(render(opts.format, latest, group) + '\n');
  };
  try {
    await runReportConsumer({
      redis,
      reader,
      keys,
      group,
      consumer: consumerName('report'),
      follow: opts.follow,
      signal: stop.signal,
      archive,
      onCaughtUp: (run) => {
        latest = run.report;
        if (!run.created && !raw.quiet)
          process.stderr.write(
            `group ${group} existed: this report covers only the entries it had not read yet\n`,
          );
        if (!raw.quiet)
          for (const i of run.invalid.slice(0, raw.verbose ? undefined : 20))
            process.stderr.write(`skipped invalid entry ${i.key} ${i.id}: ${i.error}\n`);
        print();
      },
      onUpdate: () => {
        timer ??= setTimeout(print, Math.max(0, lastPrint + (opts.interval ?? 2000) - Date.now()));
      },
    });
    if (timer) {
      clearTimeout(timer);
      print();
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (temporary) {
      await detachGroup(redis, keys, 'results', group);
      await detachGroup(redis, keys, 'outcomes', group);
    }
    await destination?.close();
    reader.disconnect();
    redis.disconnect();
  }
}
