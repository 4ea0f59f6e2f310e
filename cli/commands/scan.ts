import { ScanOptions } from '../../schemas/cli.js';
import type { Config } from '../../schemas/config.js';
import { UsageError } from '../../schemas/errors.js';
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
import { parseArgv } from '../args.js';
import { parseOptions } from '../errors.js';

export const scanHelp = `Usage: colony scan (--catalog <file|url> | --discover <root>) [--dest <url>] [--json]

Enqueues the classes of a catalog for \`colony serve\` to transfer. The catalog is JSON (an array
of classes, or {"classes": [...]}) or NDJSON (one class per line), read from a file or an
http(s) URL; each class is a webhook body: {"classId", "manifestUrl", "title"?, "recordedAt"?,
"version"?, "test"?, "aborted"?}.

Test and aborted classes, and records that are not valid, are skipped with the record number
and the reason. The others are requested idempotently: a class (and version) requested before,
by a scan or the webhook, is reported as already known and not enqueued again, so a scan can be
run again safely.

Discovery: --discover finds the master playlists below an s3://bucket/prefix (ListObjectsV2) or
an http(s):// directory listing (autoindex pages, followed into sub-folders below the root on
the same origin) and requests each as a class, with the class id colony transfer would give it.

Options:
  --catalog <file|url>   the catalog
  --discover <root>      instead of a catalog: s3://bucket/prefix or an http(s) listing URL
  --dest <url>           where the classes go: file:///abs/dir or s3://bucket/prefix (COLONY_DEST)
  --source-base <path>   leading path of the source URLs to drop from destination keys
  --json                 print {"summary", "items": [{record, classId, action, reason}]}

Exit status: 0 when every record was enqueued, already known, or a test or aborted class;
1 when a record was invalid or conflicted with a transfer in progress; 2 on bad options or an
unreadable catalog.`;

export async function scanCommand(args: string[], config: Config): Promise<number> {
  const { values, positionals } = parseArgv(
    args,
    {
      catalog: { type: 'string' },
      discover: { type: 'string' },
      dest: { type: 'string' },
      'source-base': { type: 'string' },
      json: { type: 'boolean' },
    },
    'scan',
  );
  if (positionals.length)
    throw new UsageError(`unexpected argument ${positionals[0]} (see: colony scan --help)`);
  if (values.dest === undefined && !config.dest)
    throw new UsageError('--dest: name a destination (or set COLONY_DEST)');
  const opts = parseOptions(ScanOptions, {
    catalog: values.catalog,
    discover: values.discover,
    dest: values.dest ?? config.dest,
    sourceBase: values['source-base'],
    json: values.json ?? false,
  });
  const records = opts.catalog
    ? parseCatalog(await readCatalog(opts.catalog))
    : await discovered(opts.discover!, opts.dest, config);
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
    else process.stdout.write(formatScan(items, summary) + '\n');
    const conflicts = items.filter((i) => i.reason?.startsWith('another version')).length;
    return summary.invalid + conflicts === 0 ? 0 : 1;
  } finally {
    redis.disconnect();
  }
}

/** The master playlists below a root, as catalog records; unreadable ones are named on stderr. */
async function discovered(root: string, dest: string, config: Config): Promise<CatalogRecord[]> {
  const found = await discoverMasters(root, {
    s3: { endpoint: config.s3Endpoint, forcePathStyle: config.s3ForcePathStyle },
  });
  for (const e of found.errors.slice(0, 50)) {
    process.stderr.write(`discover: could not read ${e.url}: ${e.reason}\n`);
  }
  process.stderr.write(`discover: ${found.masters.length} master playlists below ${root}\n`);
  return found.masters.map((manifestUrl, i) => ({
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
    `${s.records} records: ${s.enqueued} enqueued, ${s.known} already known, ${s.skipped} skipped (${s.invalid} invalid)`,
  );
  return lines.join('\n');
}
