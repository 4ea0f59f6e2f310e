import type { StoredDeadLetter } from '../schemas/cli-output.js';
import { STREAM_NAMES, type StreamName } from '../schemas/events.js';
import { describeError } from '../schemas/errors.js';
import { decodeEntry, fieldsToRecord } from './codec.js';
import type { Keys } from './keys.js';
import { compareIds } from './stream-ids.js';
import type { ColonyRedis } from './scripts.js';

export type { StoredDeadLetter };

function readLetter(key: string, id: string, flat: string[]): StoredDeadLetter {
  try {
    return { id, key, letter: decodeEntry('dead', fieldsToRecord(flat)) };
  } catch (err) {
    return { id, key, error: describeError(err) };
  }
}

/** Dead letters over every shard of `dead`, oldest first, at most `limit`. */
export async function listDeadLetters(
  redis: ColonyRedis,
  keys: Keys,
  o: { limit?: number; stream?: StreamName; classId?: string } = {},
): Promise<StoredDeadLetter[]> {
  const out: StoredDeadLetter[] = [];
  const limit = o.limit ?? 1000;
  for (const key of keys.allShards('dead')) {
    let start = '-';
    for (;;) {
      const page = await redis.xrange(key, start, '+', 'COUNT', 500);
      for (const [id, flat] of page) {
        const entry = readLetter(key, id, flat);
        if (o.stream && entry.letter?.stream !== o.stream) continue;
        if (o.classId && !entry.letter?.fields.data?.includes(`"classId":"${o.classId}"`)) continue;
        out.push(entry);
      }
      if (page.length < 500) break;
      start = `(${page[page.length - 1]![0]}`;
    }
  }
  out.sort((a, b) => compareIds(a.id, b.id));
  return out.slice(0, limit);
}

/** The newest dead letters over every shard of `dead`, newest first, at most `limit`. */
export async function latestDeadLetters(
  redis: ColonyRedis,
  keys: Keys,
  limit: number,
): Promise<StoredDeadLetter[]> {
  const out: StoredDeadLetter[] = [];
  for (const key of keys.allShards('dead')) {
    for (const [id, flat] of await redis.xrevrange(key, '+', '-', 'COUNT', limit))
      out.push(readLetter(key, id, flat));
  }
  return out.sort((a, b) => compareIds(b.id, a.id)).slice(0, limit);
}

/** Which dead letters a retry or purge acts on: the named ones, or every one the filters match. */
export type DeadLetterSelection = {
  ids?: readonly string[];
  stream?: StreamName;
  classId?: string;
};

/**
 * The dead letters a selection names, as `colony dlq` and the dashboard select them: the given
 * entry ids (looked up on every shard), or all, narrowed by stream and class.
 */
export async function selectDeadLetters(
  redis: ColonyRedis,
  keys: Keys,
  s: DeadLetterSelection,
  limit = Number.MAX_SAFE_INTEGER,
): Promise<StoredDeadLetter[]> {
  const filters = {
    ...(s.stream ? { stream: s.stream } : {}),
    ...(s.classId ? { classId: s.classId } : {}),
  };
  if (!s.ids?.length) return listDeadLetters(redis, keys, { limit, ...filters });
  const found: StoredDeadLetter[] = [];
  for (const key of keys.allShards('dead')) {
    const pipeline = redis.pipeline();
    for (const id of s.ids) pipeline.xrange(key, id, id);
    for (const [err, page] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      for (const [id, flat] of page as [string, string[]][]) found.push(readLetter(key, id, flat));
    }
  }
  return found
    .filter((l) => !s.stream || l.letter?.stream === s.stream)
    .filter((l) => !s.classId || l.letter?.fields.data?.includes(`"classId":"${s.classId}"`))
    .sort((a, b) => compareIds(a.id, b.id))
    .slice(0, limit);
}

/**
 * Requeues dead letters on the streams they came from: each flows through the normal path
 * again, with a fresh delivery count. Returns how many were requeued.
 */
export async function retryDeadLetters(
  redis: ColonyRedis,
  keys: Keys,
  letters: readonly StoredDeadLetter[],
): Promise<number> {
  let requeued = 0;
  for (const d of letters) {
    if (!d.letter || !(STREAM_NAMES as string[]).includes(d.letter.stream)) continue;
    const stream = d.letter.stream as StreamName;
    const shard = keys.shardOfKey(d.key) % keys.shardCount(stream);
    const source = keys.stream(stream, shard);
    const fields = Object.entries(d.letter.fields).flat();
    if (fields.length === 0) continue;
    const id = await redis.retryDeadLetter(d.key, source, d.id, ...fields);
    if (id !== 0) requeued++;
  }
  return requeued;
}

/** Deletes dead letters for good. Returns how many were deleted. */
export async function purgeDeadLetters(
  redis: ColonyRedis,
  letters: readonly StoredDeadLetter[],
): Promise<number> {
  let purged = 0;
  for (const d of letters) purged += await redis.xdel(d.key, d.id);
  return purged;
}
