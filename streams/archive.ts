import type { ArchiveChunk } from '../schemas/cli-output.js';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, gzip } from 'node:zlib';
import { z } from 'zod';
import type { Destination } from '../copy/destinations/destination.js';
import type { StreamName } from '../schemas/events.js';
import { DestinationError } from '../schemas/errors.js';
import { compareIds } from './stream-ids.js';

const gzipAsync = promisify(gzip);

/** Where archives live below the destination prefix; never a key the crawler produces. */
export const ARCHIVE_ROOT = '_colony/archive';

/** One archived entry: one line of an archive object. */
export const ArchivedEntry = z.object({
  id: z.string().regex(/^\d+-\d+$/),
  fields: z.record(z.string(), z.string()),
});
export type ArchivedEntry = z.infer<typeof ArchivedEntry>;

/** One archive object: a gzip NDJSON run of consecutive entries of one stream shard. */
export type { ArchiveChunk };

const CHUNK_NAME = /^(\d+-\d+)-(\d+-\d+)\.ndjson\.gz$/;

/**
 * Trimmed stream entries kept in the destination as gzip NDJSON, one object per run of entries:
 * `_colony/archive/<prefix>/<stream>/<shard>/<firstId>-<lastId>.ndjson.gz`, each line
 * `{"id","fields"}` with the entry's fields verbatim (so that a replay decodes and validates them
 * as it does live entries). The key prefix is part of the path so that two deployments sharing a
 * bucket keep their histories apart.
 */
export class StreamArchive {
  constructor(
    readonly dest: Destination,
    readonly prefix: string,
  ) {}

  /** The folder (ending in `/`) of one stream shard's archive objects. */
  dir(stream: StreamName, shard: number): string {
    return `${ARCHIVE_ROOT}/${this.prefix}/${stream}/${shard}/`;
  }

  /** Writes entries (in ID order, at least one) as one archive object; returns its key and size. */
  async write(
    stream: StreamName,
    shard: number,
    entries: readonly ArchivedEntry[],
  ): Promise<ArchiveChunk> {
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (!first || !last) throw new RangeError('nothing to archive');
    const ndjson =
      entries.map((e) => JSON.stringify({ id: e.id, fields: e.fields })).join('\n') + '\n';
    const body = await gzipAsync(Buffer.from(ndjson, 'utf8'));
    const key = `${this.dir(stream, shard)}${first.id}-${last.id}.ndjson.gz`;
    await this.dest.put(key, Readable.from([body]), {
      size: body.length,
      contentType: 'application/gzip',
    });
    return { key, firstId: first.id, lastId: last.id, size: body.length };
  }

  /** The archive objects of a stream shard, oldest first. */
  async chunks(stream: StreamName, shard: number): Promise<ArchiveChunk[]> {
    const dir = this.dir(stream, shard);
    const out: ArchiveChunk[] = [];
    for await (const o of this.dest.list(dir, { recursive: false })) {
      const m = CHUNK_NAME.exec(o.key.slice(dir.length));
      if (m) out.push({ key: o.key, firstId: m[1]!, lastId: m[2]!, size: o.size });
    }
    return out.sort((a, b) => compareIds(a.firstId, b.firstId) || compareIds(a.lastId, b.lastId));
  }

  /**
   * Archived entries of a stream shard between `from` and `to` (inclusive, `+` for no end), in
   * ID order; objects entirely outside the range are not fetched.
   */
  async *read(
    stream: StreamName,
    shard: number,
    range: { from?: string; to?: string } = {},
  ): AsyncGenerator<ArchivedEntry> {
    const from = range.from ?? '0-0';
    const to = range.to === undefined || range.to === '+' ? undefined : range.to;
    for (const chunk of await this.chunks(stream, shard)) {
      if (
        compareIds(chunk.lastId, from) < 0 ||
        (to !== undefined && compareIds(chunk.firstId, to) > 0)
      )
        continue;
      const body = await this.dest.get(chunk.key);
      if (!body) continue;
      const lines = createInterface({ input: body.pipe(createGunzip()), crlfDelay: Infinity });
      let n = 0;
      try {
        for await (const line of lines) {
          n++;
          if (line.trim() === '') continue;
          const entry = parseLine(line, chunk.key, n);
          if (compareIds(entry.id, from) < 0) continue;
          if (to !== undefined && compareIds(entry.id, to) > 0) break;
          yield entry;
        }
      } catch (err) {
        if (err instanceof DestinationError) throw err;
        throw new DestinationError(
          `archive ${chunk.key} is unreadable: ${(err as Error).message}`,
          { cause: err, retryable: false },
        );
      } finally {
        lines.close();
        body.destroy();
      }
    }
  }
}

function parseLine(line: string, key: string, n: number): ArchivedEntry {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new DestinationError(`archive ${key} line ${n}: not JSON`, { retryable: false });
  }
  const parsed = ArchivedEntry.safeParse(json);
  if (!parsed.success)
    throw new DestinationError(`archive ${key} line ${n}: not an archived entry`, {
      retryable: false,
    });
  return parsed.data;
}
