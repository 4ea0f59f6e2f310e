import type { Destination } from '../../copy/destinations/destination.js';
import { openDestination } from '../../copy/destinations/open-destination.js';
import { Command } from 'commander';
import { ReconcileOptions } from '../../schemas/cli.js';
import type { Config } from '../../schemas/config.js';
import {
  isClean,
  reconcile,
  waitForRepairs,
  type ClassReconcile,
} from '../../consumers/audit/reconcile.js';
import { ClassStore } from '../../streams/class-store.js';
import { Keys } from '../../streams/keys.js';
import { Publisher } from '../../streams/publisher.js';
import { connectRedis } from '../../streams/redis.js';
import { verifyRedis } from '../../streams/server-check.js';
import { destUrl, plural, prose, runWith, verbosity, type RawOptions } from '../command-kit.js';
import { parseOptions } from '../errors.js';
import { archiveFor } from './replay.js';

/** `colony reconcile`: its options and help, in one place. */
export function reconcileCommand(): Command {
  const cmd = new Command('reconcile')
    .summary('check every file against its destination')
    .usage('[classId...] [--repair] [options]')
    .description(
      prose(`
Checks every file of each class (all classes when none is named) against its destination,
from the audit log alone: the files are those of the jobs entries of the class's current run
(the archive included, see colony trim --archive), and the size of each is the one its copy
reported on the results stream. Each destination folder is listed once (ListObjectsV2 on S3,
a directory walk on file://), not one request per file. Reports every file missing or of
another size.`),
    )
    .argument('[classId...]', 'the classes to check (default: all)')
    .option(
      '--repair',
      "re-enqueue exactly those files, as jobs of the class's current run with their original ordinals; the transfer stage (colony serve) copies them and the aggregator, which counted them already, counts nothing twice",
    )
    .option(
      '--wait <seconds>',
      'with --repair: wait until the repaired files are back (listing again), at most this long; without it, reconcile exits once they are enqueued',
    )
    .option('--dest <url>', 'where the archive is (default COLONY_DEST)')
    .option('--json', 'print {"classes": [...]} with every problem');
  verbosity(cmd, 'print only the last line', 'list every problem, not only the first 50 per class');
  return cmd
    .addHelpText(
      'after',
      `
Exit status: 0 when every file of every class is present with its size; 1
otherwise (files missing or different, classes still transferring, files not in
the log, unknown classes). After --repair --wait, the status says whether
everything came back.`,
    )
    .action((classIds: string[], raw: RawOptions) =>
      runWith((config) => runReconcile(classIds, raw, config)),
    );
}

async function runReconcile(classIds: string[], raw: RawOptions, config: Config): Promise<number> {
  const opts = parseOptions(ReconcileOptions, {
    classIds,
    repair: raw.repair ?? false,
    wait: raw.wait,
    dest: destUrl(raw.dest as string | undefined),
    json: raw.json ?? false,
  });
  const say = { quiet: raw.quiet === true, verbose: raw.verbose === true };
  await verifyRedis(config.redisUrl);
  const redis = await connectRedis(config.redisUrl, 'colony-reconcile');
  const keys = new Keys(config.prefix, config.shards);
  const { archive, destination: archiveDest } = archiveFor(config, opts.dest);
  const dests = new Map<string, Destination>();
  const destination = (url: string): Destination => {
    let d = dests.get(url);
    if (!d) {
      d = openDestination(url, {
        endpoint: config.s3Endpoint,
        forcePathStyle: config.s3ForcePathStyle,
      });
      dests.set(url, d);
    }
    return d;
  };
  try {
    const deps = {
      redis,
      keys,
      classes: new ClassStore(redis, keys),
      publisher: new Publisher(redis, keys),
      destination,
      archive,
      batchSize: config.batchSize,
    };
    let results = await reconcile(deps, opts.classIds, { repair: opts.repair });
    const repaired = results.reduce((a, r) => a + r.repaired, 0);
    if (opts.repair && opts.wait !== undefined && repaired > 0) {
      if (!opts.json && !say.quiet)
        process.stderr.write(
          `re-enqueued ${plural(repaired, 'file')}; waiting up to ${opts.wait} s for them\n`,
        );
      results = await waitForRepairs(deps, results, { timeoutMs: opts.wait * 1000 });
    }
    if (opts.json) process.stdout.write(JSON.stringify({ classes: results }, null, 2) + '\n');
    else
      process.stdout.write(
        formatReconcile(results, opts.repair, opts.wait !== undefined, say) + '\n',
      );
    return results.every(isClean) ? 0 : 1;
  } finally {
    for (const d of dests.values()) await d.close().catch(() => {});
    await archiveDest?.close().catch(() => {});
    redis.disconnect();
  }
}

function formatReconcile(
  results: readonly ClassReconcile[],
  repair: boolean,
  waited: boolean,
  say: { quiet: boolean; verbose: boolean },
): string {
  const lines: string[] = [];
  const shown = say.verbose ? Infinity : 50;
  for (const r of say.quiet ? [] : results) {
    if (r.error) {
      lines.push(`ERROR ${r.classId}: ${r.error}`);
      continue;
    }
    const mark = isClean(r) ? 'ok   ' : 'FAIL ';
    const missing = r.problems.filter((p) => p.problem === 'missing').length;
    const other = r.problems.length - missing;
    lines.push(
      `${mark} ${r.classId} (run ${r.run}, ${r.status}): ${r.present}/${plural(r.files, 'file')} present, ${missing} missing, ${other} of another size`,
    );
    if (r.pending) lines.push(`        ${r.pending} not done yet: the class is still transferring`);
    if (r.unlogged)
      lines.push(
        `        ${r.unlogged === 1 ? '1 file has' : `${r.unlogged} files have`} no jobs entry in the log (trimmed without --archive, or the crawl failed); request the class again to copy them`,
      );
    for (const p of r.problems.slice(0, shown)) {
      const why =
        p.problem === 'missing'
          ? `missing${p.outcome === 'failed' ? ` (its copy failed: ${p.reason})` : p.outcome === 'none' ? ' (no result in the log)' : ` (was ${p.outcome}, ${p.expectedBytes} bytes)`}`
          : `${p.actualBytes} bytes, copied with ${p.expectedBytes}`;
      lines.push(`        ${p.key} #${p.ordinal}: ${why}`);
    }
    if (r.problems.length > shown)
      lines.push(`        ... and ${r.problems.length - shown} more (see --json or --verbose)`);
    if (r.repaired)
      lines.push(
        `        repair: re-enqueued ${plural(r.repaired, 'file')}${waited ? '' : '; colony serve (the transfer stage) copies them'}`,
      );
  }
  const clean = results.filter(isClean).length;
  lines.push(
    `${clean} of ${plural(results.length, 'class', 'classes')} complete at their destination${repair && !waited ? ' (before the repair)' : ''}`,
  );
  return lines.join('\n');
}
