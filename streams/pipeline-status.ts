import type { GroupStatus, PipelineStatus, StreamStatus } from '../schemas/dashboard.js';
import { STREAM_NAMES } from '../schemas/events.js';
import type { Keys } from './keys.js';
import { consumersAlive } from './liveness.js';
import type { ColonyRedis } from './scripts.js';

/** XINFO's flat [name, value, ...] reply as a record. */
export function infoRecord(row: unknown): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  if (!Array.isArray(row)) return r;
  for (let i = 0; i + 1 < row.length; i += 2) r[String(row[i])] = row[i + 1];
  return r;
}

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v) || 0);

/**
 * Every stream shard with its length, and every consumer group on it with its pending count, its
 * lag and its consumers (pending, idle time, and whether the process behind each is alive, from
 * its liveness key). Three round trips however many streams and groups: lengths and groups, then
 * consumers, then liveness. What `colony status` prints and the dashboard shows.
 */
export async function readPipelineStatus(
  redis: ColonyRedis,
  keys: Keys,
  now = Date.now(),
): Promise<PipelineStatus> {
  const shards = STREAM_NAMES.flatMap((stream) =>
    keys.allShards(stream).map((key) => ({ stream, key })),
  );
  const first = redis.pipeline();
  for (const { key } of shards) {
    first.xlen(key);
    first.call('XINFO', 'GROUPS', key);
  }
  const replies = (await first.exec()) ?? [];
  const streams: StreamStatus[] = shards.map(({ stream, key }, i) => {
    const [, length] = replies[2 * i] ?? [];
    const [groupsErr, groups] = replies[2 * i + 1] ?? [];
    // A stream that does not exist yet has no groups (XINFO answers "no such key").
    const rows = groupsErr || !Array.isArray(groups) ? [] : groups;
    return {
      stream,
      key,
      length: num(length),
      groups: rows.map((row): GroupStatus => {
        const g = infoRecord(row);
        return {
          name: String(g.name),
          pending: num(g.pending),
          lag: g.lag === null || g.lag === undefined ? null : num(g.lag),
          consumers: [],
        };
      }),
    };
  });

  const second = redis.pipeline();
  const asked: GroupStatus[] = [];
  for (const s of streams)
    for (const g of s.groups) {
      second.call('XINFO', 'CONSUMERS', s.key, g.name);
      asked.push(g);
    }
  const consumerReplies = asked.length ? ((await second.exec()) ?? []) : [];
  consumerReplies.forEach(([err, rows], i) => {
    if (err || !Array.isArray(rows)) return;
    asked[i]!.consumers = rows.map((row) => {
      const c = infoRecord(row);
      return { name: String(c.name), pending: num(c.pending), idleMs: num(c.idle), alive: false };
    });
  });

  const names = [...new Set(asked.flatMap((g) => g.consumers.map((c) => c.name)))];
  if (names.length) {
    const alive = await consumersAlive(redis, keys, names);
    const live = new Set(names.filter((_, i) => alive[i]));
    for (const g of asked) for (const c of g.consumers) c.alive = live.has(c.name);
  }
  const deadLetters = streams.filter((s) => s.stream === 'dead').reduce((n, s) => n + s.length, 0);
  return { at: now, streams, deadLetters };
}
