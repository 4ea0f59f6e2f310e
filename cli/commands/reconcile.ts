import type { Destination } from '../../copy/destinations/destination.js';
import { openDestination } from '../../copy/destinations/open-destination.js';
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
import { parseArgv } from '../args.js';
import { parseOptions } from '../errors.js';
import { archiveFor } from './replay.js';

export const reconcileHelp = `Usage: colony reconcile [classId...] [--repair [--wait <seconds>]] [--json]

Checks every file of each class (all classes when none is named) against its destination, from
the audit log alone: the files are those of the jobs entries of the class's current run (the
archive included, see colony trim --archive), and the size of each is the one its copy reported
on the results stream. Each destination folder is listed once (ListObjectsV2 on S3, a directory
walk on file://), not one request per file. Reports every file missing or of another size.

Options:
  --repair            re-enqueue exactly those files, as jobs of the class's current run with
                      their original ordinals; the transfer stage (colony serve) copies them
                      and the aggregator, which counted them already, counts nothing twice
  --wait <seconds>    with --repair: wait until the repaired files are back (listing again),
                      at most this long; without it, reconcile exits once they are enqueued
  --dest <url>        where the archive is (default COLONY_DEST)
  --json              print {"classes": [...]} with every problem

Exit status: 0 when every file of every class is present with its size; 1 otherwise (files
missing or different, classes still transferring, files not in the log, unknown classes).
After --repair --wait, the status says whether everything came back.`;

export async function reconcileCommand(args: string[], config: Config): Promise<number> {
  const { values, positionals } = parseArgv(
    args,
    {
      repair: { type: 'boolean' },
      wait: { type: 'string' },
      dest: { type: 'string' },
      json: { type: 'boolean' },
    },
    'reconcile',
  );
  const opts = parseOptions(ReconcileOptions, {
    classIds: positionals,
    repair: values.repair ?? false,
    wait: values.wait,
    dest: values.dest,
    json: values.json ?? false,
  });
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
      if (!opts.json)
        process.stderr.write(
          `re-enqueued ${repaired} files; waiting up to ${opts.wait} s for them\n`,
        );
      results = await waitForRepairs(deps, results, { timeoutMs: opts.wait * 1000 });
    }
    if (opts.json) process.stdout.write(JSON.stringify({ classes: results }, null, 2) + '\n');
    else
      process.stdout.write(formatReconcile(results, opts.repair, opts.wait !== undefined) + '\n');
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
): string {
  const lines: string[] = [];
  for (const r of results) {
    if (r.error) {
      lines.push(`ERROR ${r.classId}: ${r.error}`);
      continue;
    }
    const mark = isClean(r) ? 'ok   ' : 'FAIL ';
    const missing = r.problems.filter((p) => p.problem === 'missing').length;
    const other = r.problems.length - missing;
    lines.push(
      `${mark} ${r.classId} (run ${r.run}, ${r.status}): ${r.present}/${r.files} files present, ${missing} missing, ${other} of another size`,
    );
    if (r.pending) lines.push(`        ${r.pending} not done yet: the class is still transferring`);
    if (r.unlogged)
      lines.push(
        `        ${r.unlogged} files have no jobs entry in the log (trimmed without --archive, or the crawl failed); request the class again to copy them`,
      );
    for (const p of r.problems.slice(0, 50)) {
      const why =
        p.problem === 'missing'
          ? `missing${p.outcome === 'failed' ? ` (its copy failed: ${p.reason})` : p.outcome === 'none' ? ' (no result in the log)' : ` (was ${p.outcome}, ${p.expectedBytes} bytes)`}`
          : `${p.actualBytes} bytes, copied with ${p.expectedBytes}`;
      lines.push(`        ${p.key} #${p.ordinal}: ${why}`);
    }
    if (r.problems.length > 50)
      lines.push(`        ... and ${r.problems.length - 50} more (see --json)`);
    if (r.repaired)
      lines.push(
        `        repair: re-enqueued ${r.repaired} files${waited ? '' : '; colony serve (the transfer stage) copies them'}`,
      );
  }
  const clean = results.filter(isClean).length;
  lines.push(
    `${clean} of ${results.length} classes complete at their destination${repair && !waited ? ' (before the repair)' : ''}`,
  );
  return lines.join('\n');
}
