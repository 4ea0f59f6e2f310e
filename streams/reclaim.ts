import type { ColonyRedis } from './scripts.js';
import type { Liveness } from './liveness.js';
import { compareIds } from './stream-ids.js';

/** A raw entry as Redis returns it: id and flat fields. */
export type RawEntry = [id: string, fields: string[]];

type Target = { redis: ColonyRedis; key: string; group: string; consumer: string };

/**
 * Claims entries idle past the visibility timeout (XAUTOCLAIM), one page from `cursor`.
 * Returns the claimed entries and the next cursor ('0-0' once the whole PEL was scanned).
 * Entries deleted from the stream while pending (trimmed) are acked so they stop haunting the PEL.
 */
export async function autoclaim(
  t: Target,
  minIdleMs: number,
  cursor: string,
  count: number,
): Promise<{ entries: RawEntry[]; cursor: string }> {
  const reply = (await t.redis.call(
    'XAUTOCLAIM',
    t.key,
    t.group,
    t.consumer,
    String(minIdleMs),
    cursor,
    'COUNT',
    String(count),
  )) as [string, ([string, string[] | null] | null)[], string[]?];
  const entries: RawEntry[] = [];
  const gone: string[] = [];
  for (const e of reply[1] ?? []) {
    if (!e) continue;
    if (e[1] === null) gone.push(e[0]);
    else entries.push([e[0], e[1]]);
  }
  if (gone.length) await t.redis.xack(t.key, t.group, ...gone);
  return { entries, cursor: reply[0] };
}

type ConsumerInfo = { name: string; pending: number; idle: number };

async function consumers(t: Target): Promise<ConsumerInfo[]> {
  const rows = (await t.redis.call('XINFO', 'CONSUMERS', t.key, t.group)) as unknown[][];
  return rows.map((row) => {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < row.length; i += 2) info[String(row[i])] = row[i + 1];
    return { name: String(info.name), pending: Number(info.pending), idle: Number(info.idle) };
  });
}

/**
 * Takes over what dead consumers held. A consumer is dead when its liveness key has lapsed;
 * its pending entries are claimed at once (XCLAIM bumps their delivery counts). Consumers that
 * are dead and hold nothing are removed from the group, so `status` shows only live ones.
 * Never removes a consumer that still holds entries: XGROUP DELCONSUMER drops them.
 */
export async function claimFromDeadConsumers(
  t: Target,
  liveness: Liveness,
  count: number,
  minIdleMs: number,
): Promise<RawEntry[]> {
  const others = (await consumers(t)).filter((c) => c.name !== t.consumer && c.idle >= minIdleMs);
  if (others.length === 0) return [];
  const alive = await liveness.alive(others.map((c) => c.name));
  const claimed: RawEntry[] = [];
  for (const [i, c] of others.entries()) {
    if (alive[i]) continue;
    if (c.pending === 0) {
      await t.redis.deleteIdleConsumer(t.key, t.group, c.name);
      continue;
    }
    if (claimed.length >= count) continue;
    const pending = (await t.redis.xpending(
      t.key,
      t.group,
      '-',
      '+',
      count - claimed.length,
      c.name,
    )) as [string, string, number, number][];
    if (pending.length === 0) continue;
    const ids = pending.map((p) => p[0]);
    const got = (await t.redis.xclaim(t.key, t.group, t.consumer, 0, ...ids)) as (
      [string, string[]] | null
    )[];
    for (const e of got) if (e && e[1]) claimed.push([e[0], e[1]]);
  }
  return claimed;
}

/** Delivery counts of entries this consumer holds, from XPENDING over their id range. */
export async function deliveryCounts(
  t: Target,
  ids: readonly string[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (ids.length === 0) return counts;
  const sorted = [...ids].sort(compareIds);
  const rows = (await t.redis.xpending(
    t.key,
    t.group,
    sorted[0]!,
    sorted[sorted.length - 1]!,
    ids.length * 2 + 10,
    t.consumer,
  )) as [string, string, number, number][];
  const wanted = new Set(ids);
  for (const [id, , , n] of rows) if (wanted.has(id)) counts.set(id, Number(n));
  // The range may hold more of this consumer's entries than the COUNT reached (other batches in
  // flight): ask for the ones it missed one by one, or they would pass as first deliveries and
  // never reach max deliveries.
  const missed = ids.filter((id) => !counts.has(id));
  if (missed.length) {
    const pipeline = t.redis.pipeline();
    for (const id of missed) pipeline.xpending(t.key, t.group, id, id, 1, t.consumer);
    for (const [err, reply] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      const row = (reply as [string, string, number, number][])[0];
      if (row) counts.set(row[0], Number(row[3]));
    }
  }
  return counts;
}

/**
 * Hands entries back: makes them look idle past the visibility timeout without bumping their
 * delivery counts, so that any live consumer claims them on its next pass.
 */
export async function release(t: Target, ids: readonly string[], idleMs: number): Promise<void> {
  if (ids.length === 0) return;
  await t.redis.call(
    'XCLAIM',
    t.key,
    t.group,
    t.consumer,
    '0',
    ...ids,
    'IDLE',
    String(idleMs),
    'JUSTID',
  );
}
