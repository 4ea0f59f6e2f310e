import type { StreamName } from '../schemas/events.js';
import { ScriptError } from '../schemas/errors.js';
import type { ArchiveChunk, ArchivedEntry, StreamArchive } from './archive.js';
import { fieldsToRecord } from './codec.js';
import type { Keys } from './keys.js';
import type { RawEntry } from './reclaim.js';
import type { ColonyRedis } from './scripts.js';
import { groupsOf } from './replay.js';
import { compareIds, nextId } from './stream-ids.js';
import { trimAcked1 } from './scripts/trim-acked-1.js';

/** What a group still needs of a stream shard. */
export type GroupPosition = {
  group: string;
  lastDeliveredId: string;
  pending: number;
  /** The first entry the group has not acknowledged: the entry after its last-delivered-id, or
   * its oldest pending entry when that is older. */
  firstNeededId: string;
};

/** What the trim of one stream shard did (or, in a dry run, would do). */
export type ShardTrim = {
  stream: StreamName;
  shard: number;
  key: string;
  /** Entries in the shard before the trim. */
  length: number;
  groups: GroupPosition[];
  /** Entries before this ID were acknowledged by every group; undefined when nothing may go. */
  safeMinId?: string;
  /** The group whose position set the safe minimum: the slowest reader. */
  heldBy?: string;
  /** Why nothing may be trimmed, when that is so. */
  note?: string;
  /** Entries trimmed (in a dry run: that would be). */
  trimmed: number;
  archived: ArchiveChunk[];
  /** MEMORY USAGE of the shard before and after, in bytes. */
  memoryBefore: number;
  memoryAfter: number;
};

export type TrimOptions = {
  redis: ColonyRedis;
  keys: Keys;
  /** Write the entries to be trimmed here first, so that replay and reconcile still cover them. */
  archive?: StreamArchive | undefined;
  dryRun?: boolean;
  /** Most entries per archive object. */
  chunkEntries?: number;
};

type ScriptReply = [code: number, minId: string, trimmed: number];

/** Where each group of a stream shard stands, and the first entry each still needs. */
export async function groupPositions(redis: ColonyRedis, key: string): Promise<GroupPosition[]> {
  const out: GroupPosition[] = [];
  for (const g of await groupsOf(redis, key)) {
    const group = String(g.name);
    const lastDeliveredId = String(g['last-delivered-id']);
    const pending = Number(g.pending);
    let firstNeededId = nextId(lastDeliveredId);
    if (pending > 0) {
      const [, oldest] = (await redis.xpending(key, group)) as [
        number,
        string | null,
        string | null,
        unknown,
      ];
      if (oldest && compareIds(oldest, firstNeededId) < 0) firstNeededId = oldest;
    }
    out.push({ group, lastDeliveredId, pending, firstNeededId });
  }
  return out;
}

async function memoryUsage(redis: ColonyRedis, key: string): Promise<number> {
  const n = (await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number | null;
  return n ?? 0;
}

async function runScript(
  redis: ColonyRedis,
  key: string,
  cap: string,
  apply: boolean,
): Promise<ScriptReply> {
  const reply = (await redis.eval(trimAcked1, 1, key, cap, apply ? '1' : '0')) as [
    number,
    string,
    number,
  ];
  if (![0, 1, 2].includes(reply[0]))
    throw new ScriptError(`trim of ${key} answered ${JSON.stringify(reply)}`);
  return [Number(reply[0]), String(reply[1]), Number(reply[2])];
}

/** Entries of a shard before `minId` (exclusive), page by page. */
async function* entriesBefore(
  redis: ColonyRedis,
  key: string,
  minId: string,
  page = 1000,
): AsyncGenerator<RawEntry[]> {
  let start = '-';
  for (;;) {
    const entries = (await redis.xrange(key, start, `(${minId}`, 'COUNT', page)) as RawEntry[];
    if (entries.length) yield entries;
    if (entries.length < page) return;
    start = `(${entries[entries.length - 1]![0]}`;
  }
}

/**
 * Trims one stream shard to its safe minimum ID with XTRIM MINID (exact: every entry before it
 * goes, none after), archiving the entries first when an archive is given. The safe minimum is
 * computed again inside the trimming script and the smaller of the two is used, so a group
 * created (or set back) while the archive was written still keeps its entries; entries archived
 * but kept are read once by replay, which skips the copy.
 */
export async function trimShard(
  o: TrimOptions,
  stream: StreamName,
  shard: number,
): Promise<ShardTrim> {
  const key = o.keys.stream(stream, shard);
  const memoryBefore = await memoryUsage(o.redis, key);
  const length = await o.redis.xlen(key);
  const groups = await groupPositions(o.redis, key);
  const result: ShardTrim = {
    stream,
    shard,
    key,
    length,
    groups,
    trimmed: 0,
    archived: [],
    memoryBefore,
    memoryAfter: memoryBefore,
  };
  const [code, minId] = await runScript(o.redis, key, '', false);
  if (code === 1) return { ...result, note: 'no such stream' };
  if (code === 2) return { ...result, note: 'no consumer group reads it: never trimmed' };
  result.safeMinId = minId;
  result.heldBy = groups.find((g) => g.firstNeededId === minId)?.group;

  if (o.dryRun || o.archive) {
    let batch: ArchivedEntry[] = [];
    for await (const page of entriesBefore(o.redis, key, minId)) {
      result.trimmed += page.length;
      if (!o.archive || o.dryRun) continue;
      for (const [id, flat] of page) {
        batch.push({ id, fields: fieldsToRecord(flat) });
        if (batch.length >= (o.chunkEntries ?? 10_000)) {
          result.archived.push(await o.archive.write(stream, shard, batch));
          batch = [];
        }
      }
    }
    if (batch.length && o.archive && !o.dryRun)
      result.archived.push(await o.archive.write(stream, shard, batch));
    if (o.dryRun) return result;
  }
  const [, , trimmed] = await runScript(o.redis, key, o.archive ? minId : '', true);
  result.trimmed = trimmed;
  result.memoryAfter = await memoryUsage(o.redis, key);
  return result;
}

/** Trims every shard of the given streams; see {@link trimShard}. */
export async function trimStreams(
  o: TrimOptions,
  streams: readonly StreamName[],
): Promise<ShardTrim[]> {
  const out: ShardTrim[] = [];
  for (const stream of streams) {
    for (let shard = 0; shard < o.keys.shardCount(stream); shard++)
      out.push(await trimShard(o, stream, shard));
  }
  return out;
}
