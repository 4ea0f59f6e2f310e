import type { ConsumerStatus, GroupStatus, StatusDocument } from '../schemas/cli-output.js';
import { STREAM_NAMES } from '../schemas/events.js';
import { STAGE_NAMES, STAGE_STREAMS } from '../consumers/stages.js';
import { ClassStore } from '../streams/class-store.js';
import type { Keys } from '../streams/keys.js';
import type { ColonyRedis } from '../streams/redis.js';
import { groupsOf } from '../streams/replay.js';

/** Failed files shown per class: why it failed, not the whole list of a million. */
const FAILURES_SHOWN = 100;

/** A dead consumer holding nothing this long is removed from its group by `status`. */
const DEAD_CONSUMER_GRACE_MS = 10_000;

/**
 * Everything `colony status` shows: the classes with their failures, every consumer group of
 * every stream shard with its consumers (alive or dead), and the dead letters.
 *
 * Housekeeping on the way: a consumer whose process is gone (no liveness key) and that holds
 * nothing is removed from its group (atomically: only if it still holds nothing), so that the
 * consumers of a stopped or killed `colony serve` do not linger in the listing. One that still
 * holds entries is shown as dead until a live consumer takes them over.
 */
export async function statusSnapshot(
  redis: ColonyRedis,
  keys: Keys,
  classId: string | undefined,
): Promise<StatusDocument> {
  const store = new ClassStore(redis, keys);
  const ids = classId ? [classId] : await store.list(1000);
  const states = (await Promise.all(ids.map((id) => store.get(id)))).filter((c) => c !== undefined);
  const classes = await Promise.all(
    states.map(async (c) => ({
      ...c,
      failures: c.failed ? (await store.failures(c.classId)).slice(0, FAILURES_SHOWN) : [],
    })),
  );
  const groups: GroupStatus[] = [];
  for (const stream of STREAM_NAMES) {
    for (const key of keys.allShards(stream)) {
      for (const g of await groupsOf(redis, key)) {
        const group = String(g.name);
        const stage = STAGE_NAMES.find(
          (s) => STAGE_STREAMS[s].stream === stream && STAGE_STREAMS[s].group === group,
        );
        groups.push({
          stream,
          key,
          group,
          ...(stage ? { stage } : {}),
          consumers: await consumersOf(redis, keys, key, group),
          pending: Number(g.pending),
          lag: g.lag === null || g.lag === undefined ? null : Number(g.lag),
        });
      }
    }
  }
  const dead = await Promise.all(keys.allShards('dead').map((k) => redis.xlen(k)));
  return { classes, groups, dead: dead.reduce((a, b) => a + b, 0) };
}

async function consumersOf(
  redis: ColonyRedis,
  keys: Keys,
  key: string,
  group: string,
): Promise<ConsumerStatus[]> {
  const rows = (await redis.call('XINFO', 'CONSUMERS', key, group)) as unknown[][];
  const infos = rows.map((row) => {
    const r: Record<string, unknown> = {};
    for (let i = 0; i + 1 < row.length; i += 2) r[String(row[i])] = row[i + 1];
    return { name: String(r.name), pending: Number(r.pending), idleMs: Number(r.idle) };
  });
  if (infos.length === 0) return [];
  const alive = (await redis.mget(...infos.map((c) => keys.alive(c.name)))).map((v) => v !== null);
  const out: ConsumerStatus[] = [];
  for (const [i, c] of infos.entries()) {
    const gone = !alive[i] && c.pending === 0 && c.idleMs >= DEAD_CONSUMER_GRACE_MS;
    if (gone && (await redis.deleteIdleConsumer(key, group, c.name).catch(() => 0)) === 1) continue;
    out.push({ ...c, alive: alive[i]! });
  }
  return out;
}
