import { Command } from 'commander';
import { ScanOptions } from '../../schemas/cli.js';
import type { Config } from '../../schemas/config.js';
import { discoverMasters } from '../../consumers/requests/discovery.js';
import { classIdFor } from '../../consumers/requests/ingest.js';
import {
  type CatalogRecord,
  parseCatalog,
  readCatalog,
  scanCatalog,
  scanSummary,
  type ScanItem,
} from '../../consumers/requests/scanner.js';
import { ClassStore } from '../../streams/class-store.js';
import { Keys } from '../../streams/keys.js';
import { Publisher } from '../../streams/publisher.js';
import { connectRedis } from '../../streams/redis.js';
import { verifyRedis } from '../../streams/server-check.js';
import {
  plural,
  prose,
  requiredDest,
  runWith,
  verbosity,
  type RawOptions,
} from '../command-kit.js';
import { parseOptions } from '../errors.js';

/** `colony scan`: its options and help, in one place. */
export function scanCommand(): Command {
  const cmd = new Command('scan')
    .summary('enqueue the classes of a catalog')
    .usage('(--catalog <file|url> | --discover <root>) [options]')
    .description(
      prose(`
Enqueues the classes of a catalog for \`colony serve\` to transfer. The catalog is JSON (an
array of classes, or {"classes": [...]}) or NDJSON (one class per line), read from a file or an
http(s) URL; each class is a webhook body: {"classId", "manifestUrl", "title"?, "recordedAt"?,
"version"?, "test"?, "aborted"?}.

Test and aborted classes, and records that are not valid, are skipped with the record number
and the reason. The others are requested idempotently: a class (and version) requested before,
by a scan or the webhook, is reported as already known and not enqueued again, so a scan can
be run again safely.

Discovery: --discover finds the master playlists below an s3://bucket/prefix (ListObjectsV2)
or an http(s):// directory listing (autoindex pages, followed into sub-folders below the root
on the same origin) and requests each as a class, with the class id colony transfer would give
it.`),
    )
    .option('--catalog <file|url>', 'the catalog')
    .option(
      '--discover <root>',
      'instead of a catalog: s3://bucket/prefix or an http(s) listing URL',
    )
    .option(
      '--dest <url>',
      'where the classes go: s3://bucket/prefix, file:///abs/dir or a path (default COLONY_DEST); required',
    )
    .option('--source-base <path>', 'leading path of the source URLs to drop from destination keys')
    .option('--json', 'print {"catalog", "dest", "summary", "items": [...]} on stdout');
  verbosity(cmd, 'print only the summary line', 'also list what discovery could not read');
  return cmd
    .allowExcessArguments(false)
    .addHelpText(
      'after',
      `
Exit status: 0 when every record was enqueued, already known, or a test or
aborted class; 1 when a record was invalid or conflicted with a transfer in
progress; 2 on bad options or an unreadable catalog.`,
    )
    .action((raw: RawOptions) => runWith((config) => runScan(raw, config)));
}

async function runScan(raw: RawOptions, config: Config): Promise<number> {
  const opts = parseOptions(ScanOptions, {
    catalog: raw.catalog,
    discover: raw.discover,
    dest: requiredDest(raw.dest as string | undefined, config, 'scan'),
    sourceBase: raw.sourceBase,
    json: raw.json ?? false,
  });
  const records = opts.catalog
    ? parseCatalog(await readCatalog(opts.catalog))
    : await discovered(opts.discover!, opts.dest, config, raw);
  await verifyRedis(config.redisUrl);
  const redis = await connectRedis(config.redisUrl, 'colony-scan');
  try {
    const keys = new Keys(config.prefix, config.shards);
    const items = await scanCatalog(
      { classes: new ClassStore(redis, keys), publisher: new Publisher(redis, keys) },
      records,
      { dest: opts.dest, sourceBase: opts.sourceBase },
    );
    const summary = scanSummary(items);
    if (opts.json)
      process.stdout.write(
        JSON.stringify(
          { catalog: opts.catalog ?? opts.discover, dest: opts.dest, summary, items },
          null,
          2,
        ) + '\n',
      );
    else process.stdout.write(formatScan(raw.quiet ? [] : items, summary) + '\n');
    const conflicts = items.filter((i) => i.reason?.startsWith('another version')).length;
    return summary.invalid + conflicts === 0 ? 0 : 1;
  } finally {
    redis.disconnect();
  }
}

/** The master playlists below a root, as catalog records; unreadable ones are named on stderr. */
async function discovered(
  root: string,
  dest: string,
  config: Config,
  say: { quiet?: unknown; verbose?: unknown },
): Promise<CatalogRecord[]> {
  const found = await discoverMasters(root, {
    s3: { endpoint: config.s3Endpoint, forcePathStyle: config.s3ForcePathStyle },
  });
  if (say.quiet) return records(found.masters, dest);
  for (const e of found.errors.slice(0, say.verbose ? undefined : 50)) {
    process.stderr.write(`discover: could not read ${e.url}: ${e.reason}\n`);
  }
  process.stderr.write(
    `discover: ${plural(found.masters.length, 'master playlist')} below ${root}\n`,
  );
  return records(found.masters, dest);
}

function records(masters: readonly string[], dest: string): CatalogRecord[] {
  return masters.map((manifestUrl, i) => ({
    number: i + 1,
    value: { classId: classIdFor(manifestUrl, dest), manifestUrl },
  }));
}

function formatScan(items: readonly ScanItem[], s: ReturnType<typeof scanSummary>): string {
  const lines = items.map((i) => {
    const who = i.classId ?? '(no class id)';
    if (i.action === 'enqueued') return `enqueued  record ${i.record}: ${who}`;
    if (i.action === 'known')
      return `known     record ${i.record}: ${who} (${i.state === 'finished' ? 'already transferred or failed' : 'already on its way'})`;
    return `skipped   record ${i.record}: ${who}: ${i.reason}`;
  });
  lines.push(
    `${plural(s.records, 'record')}: ${s.enqueued} enqueued, ${s.known} already known, ${s.skipped} skipped (${s.invalid} invalid)`,
  );
  return lines.join('\n');
}
