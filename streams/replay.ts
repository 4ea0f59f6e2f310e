import type { StreamEvent, StreamName } from '../schemas/events.js';
import { UsageError, describeError } from '../schemas/errors.js';
import type { StreamArchive } from './archive.js';
import type { BlockingConnection } from './cluster.js';
import { decodeEntry, fieldsToRecord } from './codec.js';
import type { Keys } from './keys.js';
import type { RawEntry } from './reclaim.js';
import { compareIds, nextId, previousId } from './stream-ids.js';
import type { ColonyRedis } from './scripts.js';

/** One entry of the audit log, valid or not, with where it was found. */
export type HistoryEntry<S extends StreamName> = {
  id: string;
  /** The Redis key of the stream shard. */
  key: string;
  shard: number;
  source: 'redis' | 'archive';
  fields: Record<string, string>;
} & ({ event: StreamEvent<S>; error?: undefined } | { event?: undefined; error: string });

export type HistoryOptions<S extends StreamName> = {
  redis: ColonyRedis;
  keys: Keys;
  stream: S;
  /** First ID to include (default: the start). */
  from?: string;
  /** Last ID to include (default: the end). */
  to?: string;
  /** XRANGE page size. */
  pageSize?: number;
  /** Where trimmed entries were archived: read first, so that a replay covers them. */
  archive?: StreamArchive | undefined;
};

/**
 * Every entry of a logical stream, shard by shard and in ID order within a shard: first the
 * archived entries (when an archive is given), then those still in Redis, read with XRANGE in
 * pages. An entry found both in the archive and in Redis (a trim interrupted after archiving) is
 * given once. Entries that fail validation are given with the error instead of the event.
 */
export async function* readHistory<S extends StreamName>(
  o: HistoryOptions<S>,
): AsyncGenerator<HistoryEntry<S>> {
  const from = o.from ?? '0-0';
  const to = o.to ?? '+';
  const pageSize = o.pageSize ?? 500;
  for (let shard = 0; shard < o.keys.shardCount(o.stream); shard++) {
    const key = o.keys.stream(o.stream, shard);
    let last: string | undefined;
    const entry = (
      id: string,
      fields: Record<string, string>,
      source: 'redis' | 'archive',
    ): HistoryEntry<S> => {
      try {
        return { id, key, shard, source, fields, event: decodeEntry(o.stream, fields) };
      } catch (err) {
        return { id, key, shard, source, fields, error: describeError(err) };
      }
    };
    if (o.archive) {
      for await (const a of o.archive.read(o.stream, shard, { from, to })) {
        if (last !== undefined && compareIds(a.id, last) <= 0) continue;
        last = a.id;
        yield entry(a.id, a.fields, 'archive');
      }
    }
    let start = last !== undefined && compareIds(last, from) >= 0 ? `(${last}` : from;
    for (;;) {
      const page = (await o.redis.xrange(key, start, to, 'COUNT', pageSize)) as RawEntry[];
      for (const [id, flat] of page) yield entry(id, fieldsToRecord(flat), 'redis');
      if (page.length < pageSize) break;
      start = `(${page[page.length - 1]![0]}`;
    }
  }
}

/** The groups of a stream shard as XINFO GROUPS reports them; none when the key is missing. */
export async function groupsOf(
  redis: ColonyRedis,
  key: string,
): Promise<Record<string, unknown>[]> {
  const rows = (await redis.call('XINFO', 'GROUPS', key).catch((err: unknown) => {
    if (/no such key/i.test(describeError(err))) return [];
    throw err;
  })) as unknown[][];
  return rows.map((row) => {
    const r: Record<string, unknown> = {};
    for (let i = 0; i + 1 < row.length; i += 2) r[String(row[i])] = row[i + 1];
    return r;
  });
}

/**
 * Creates a new consumer group on every shard of a stream, positioned so that its first read
 * delivers the entry at `from` (inclusive) and everything after it: XGROUP CREATE ... MKSTREAM
 * with the ID before `from`. `0` replays the whole history still in Redis, `$` only new entries.
 *
 * @throws UsageError when the group already exists on a shard (nothing is created then).
 */
export async function attachGroup(
  redis: ColonyRedis,
  keys: Keys,
  stream: StreamName,
  group: string,
  from = '0',
): Promise<{ key: string; lastDeliveredId: string }[]> {
  const shardKeys = keys.allShards(stream);
  for (const key of shardKeys) {
    if ((await groupsOf(redis, key)).some((g) => g.name === group)) {
      throw new UsageError(
        `group ${group} already exists on ${key}; choose another --group, or remove it with XGROUP DESTROY`,
      );
    }
  }
  const id =
    from === '0' || from === '-' || from === '0-0' ? '0' : from === '$' ? '$' : previousId(from);
  const out: { key: string; lastDeliveredId: string }[] = [];
  for (const key of shardKeys) {
    await redis.xgroup('CREATE', key, group, id, 'MKSTREAM');
    out.push({ key, lastDeliveredId: id });
  }
  return out;
}

/** Removes a consumer group from every shard of a stream (a temporary reader's, say). */
export async function detachGroup(
  redis: ColonyRedis,
  keys: Keys,
  stream: StreamName,
  group: string,
): Promise<void> {
  for (const key of keys.allShards(stream))
    await redis.xgroup('DESTROY', key, group).catch(() => 0);
}

/** The ID of the last entry of a stream shard, or undefined when it is empty. */
export async function lastEntryId(redis: ColonyRedis, key: string): Promise<string | undefined> {
  const [last] = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as RawEntry[];
  return last?.[0];
}

/** One entry read by a group, with the shard key it came from. */
export type GroupEntry = { key: string; id: string; fields: Record<string, string> };

/**
 * Reads new entries for one consumer of a group over several stream keys at once (XREADGROUP
 * ... STREAMS k1 k2 > >). A blocking read runs on `reader`, a connection of its own, under a
 * watchdog that resets a read that outlives its BLOCK (see streams/redis.ts connectBlocking).
 */
export async function readGroup(
  reader: BlockingConnection,
  o: { group: string; consumer: string; keys: readonly string[]; count: number; blockMs?: number },
): Promise<GroupEntry[]> {
  const args: (string | number)[] = ['GROUP', o.group, o.consumer, 'COUNT', o.count];
  if (o.blockMs !== undefined) args.push('BLOCK', o.blockMs);
  args.push('STREAMS', ...o.keys, ...o.keys.map(() => '>'));
  const read = reader.call('XREADGROUP', ...args) as Promise<[string, RawEntry[]][] | null>;
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), (o.blockMs ?? 0) + 5000);
  });
  const reply = await Promise.race([read, watchdog]).finally(() => clearTimeout(timer));
  if (reply === 'hung') {
    read.catch(() => {});
    reader.disconnect(true);
    return [];
  }
  const out: GroupEntry[] = [];
  for (const [key, entries] of reply ?? []) {
    for (const [id, flat] of entries) out.push({ key, id, fields: fieldsToRecord(flat) });
  }
  return out;
}
