import { Redis } from 'ioredis';
import { RedisUnfitError, describeError } from '../schemas/errors.js';
import { keySlot } from './key-slot.js';
import type { Keys } from './keys.js';
import { probeRedis } from './redis.js';
import { parseRedisUrl, redact } from './redis-url.js';

/** What one Redis node says of itself (INFO, and CONFIG GET where the service allows it). */
export type NodeFacts = {
  address: string;
  role: 'master' | 'replica';
  version: string;
  maxmemoryPolicy: string;
  /** 0 when unlimited. */
  maxmemory: number;
  usedMemory: number;
  aof: boolean;
  /** always, everysec or no; undefined when CONFIG is not allowed (managed services). */
  appendfsync: string | undefined;
  /** The RDB snapshot schedule (`save`), '' when off; undefined when CONFIG is not allowed. */
  save: string | undefined;
  clusterEnabled: boolean;
  connectedReplicas: number;
};

/** One check's verdict; `setting` names what to change when it is not ok. */
export type Finding = {
  level: 'ok' | 'warn' | 'error';
  check: string;
  message: string;
  setting?: string;
};

/** A cluster master with its slots and replicas, and the stream shards it serves. */
export type ClusterMaster = {
  address: string;
  slots: number;
  replicas: string[];
  shards: string[];
};

export type RedisReport = {
  cluster: boolean;
  nodes: NodeFacts[];
  masters?: ClusterMaster[];
  findings: Finding[];
};

const MIN_VERSION = [6, 2] as const;

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

async function configGet(redis: Redis, name: string): Promise<string | undefined> {
  try {
    const reply = (await redis.call('CONFIG', 'GET', name)) as string[];
    return reply[1];
  } catch {
    return undefined;
  }
}

/** Reads the facts of one node over a plain connection to it. */
export async function inspectNode(redis: Redis, address: string): Promise<NodeFacts> {
  const info = await redis.info();
  return {
    address,
    role: field(info, 'role') === 'slave' ? 'replica' : 'master',
    version: field(info, 'redis_version') ?? '0',
    maxmemoryPolicy: field(info, 'maxmemory_policy') ?? 'unknown',
    maxmemory: Number(field(info, 'maxmemory') ?? 0),
    usedMemory: Number(field(info, 'used_memory') ?? 0),
    aof: field(info, 'aof_enabled') === '1',
    appendfsync: await configGet(redis, 'appendfsync'),
    save: await configGet(redis, 'save'),
    clusterEnabled: field(info, 'cluster_enabled') === '1',
    connectedReplicas: Number(field(info, 'connected_slaves') ?? 0),
  };
}

function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < min.length; i++) {
    const p = parts[i] ?? 0;
    if (p !== min[i]) return p > min[i]!;
  }
  return true;
}

/** The verdicts on one node: version, eviction policy, persistence. */
export function judgeNode(f: NodeFacts): Finding[] {
  const at = `Redis ${f.address}`;
  const out: Finding[] = [];
  out.push(
    versionAtLeast(f.version, MIN_VERSION)
      ? { level: 'ok', check: 'version', message: `${at}: version ${f.version}` }
      : {
          level: 'error',
          check: 'version',
          message: `${at} is version ${f.version}; colony needs 6.2 or newer (XAUTOCLAIM, XPENDING IDLE)`,
          setting: 'upgrade Redis to 6.2+ (or Valkey 7.2+)',
        },
  );
  out.push(
    f.maxmemoryPolicy === 'noeviction'
      ? { level: 'ok', check: 'eviction', message: `${at}: maxmemory-policy noeviction` }
      : {
          level: 'error',
          check: 'eviction',
          message: `${at} has maxmemory-policy ${f.maxmemoryPolicy}: it may evict a class's state or a stream, losing files`,
          setting:
            'maxmemory-policy noeviction (CONFIG SET maxmemory-policy noeviction, and in redis.conf or the parameter group)',
        },
  );
  if (!f.aof) {
    out.push({
      level: 'warn',
      check: 'persistence',
      message:
        f.save === ''
          ? `${at}: no AOF and no RDB snapshots: a Redis restart loses every class's state and the whole log`
          : `${at}: no AOF${f.save ? ` (RDB snapshots "${f.save}")` : ''}: a Redis crash loses everything written since the last snapshot, and files done then are copied again`,
      setting: 'appendonly yes, appendfsync everysec (or always)',
    });
  } else if (f.appendfsync === 'no') {
    out.push({
      level: 'warn',
      check: 'persistence',
      message: `${at}: AOF with appendfsync no: a machine crash loses what the OS had not written (about 30 s)`,
      setting: 'appendfsync everysec (or always)',
    });
  } else {
    out.push({
      level: 'ok',
      check: 'persistence',
      message:
        f.appendfsync === 'always'
          ? `${at}: AOF, appendfsync always: nothing acknowledged is lost in a crash`
          : `${at}: AOF, appendfsync ${f.appendfsync ?? 'unknown (CONFIG not allowed)'}: a crash of the machine can lose the last second of writes; colony redoes that work (copies repeat, counts stay exact)`,
    });
  }
  return out;
}

/** One node's address `host:port` from CLUSTER NODES (`host:port@busport[,hostname]`). */
type ParsedNode = {
  id: string;
  address: string;
  master: boolean;
  masterId?: string;
  ranges: [number, number][];
  slots: number;
  failed: boolean;
};

function parseClusterNodes(text: string): ParsedNode[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, masterId, , , , , ...slots] = line.trim().split(' ');
      const f = (flags ?? '').split(',');
      const ranges: [number, number][] = [];
      for (const s of slots) {
        if (s.startsWith('[')) continue;
        const [a, b] = s.split('-').map(Number);
        ranges.push([a!, b ?? a!]);
      }
      const count = ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
      return {
        id: id!,
        address: addr!.split('@')[0]!,
        master: f.includes('master'),
        ...(masterId && masterId !== '-' ? { masterId } : {}),
        ranges,
        slots: count,
        failed: f.includes('fail') || f.includes('fail?'),
      };
    });
}

function plain(url: string, host: string, port: number, timeoutMs: number): Redis {
  const t = parseRedisUrl(url);
  const r = new Redis({
    host,
    port,
    ...(t.username ? { username: t.username } : {}),
    ...(t.password ? { password: t.password } : {}),
    tls: t.tls ? {} : undefined,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  r.on('error', () => {});
  return r;
}

/**
 * Inspects the Redis that REDIS_URL names: every node of a cluster (masters and replicas, found
 * with CLUSTER NODES) or the one server, and judges each. On a cluster it also reports the
 * layout: masters, their replicas and slots, and which master serves each stream shard.
 */
export async function inspectRedis(
  url: string,
  o: { keys?: Keys; timeoutMs?: number } = {},
): Promise<RedisReport> {
  const timeoutMs = o.timeoutMs ?? 3000;
  const target = parseRedisUrl(url);
  let first: Redis | undefined;
  let lastError: unknown;
  for (const seed of target.seeds) {
    const r = plain(url, seed.host, seed.port, timeoutMs);
    try {
      await r.connect();
      first = r;
      break;
    } catch (err) {
      lastError = err;
      r.disconnect();
    }
  }
  if (!first)
    throw new RedisUnfitError(`cannot reach Redis at ${redact(url)}: ${describeError(lastError)}`);
  try {
    const facts = await inspectNode(first, `${target.seeds[0]!.host}:${target.seeds[0]!.port}`);
    if (!facts.clusterEnabled)
      return { cluster: false, nodes: [facts], findings: judgeNode(facts) };
    const parsed = parseClusterNodes(String(await first.call('CLUSTER', 'NODES')));
    const nodes: NodeFacts[] = [];
    const findings: Finding[] = [];
    for (const n of parsed) {
      const [host, port] = [
        n.address.slice(0, n.address.lastIndexOf(':')),
        Number(n.address.slice(n.address.lastIndexOf(':') + 1)),
      ];
      if (n.failed) {
        findings.push({
          level: 'error',
          check: 'cluster',
          message: `cluster node ${n.address} is marked failed`,
          setting: 'bring the node back or remove it (CLUSTER FORGET)',
        });
        continue;
      }
      const r = plain(url, host, port, timeoutMs);
      try {
        await r.connect();
        const f = await inspectNode(r, n.address);
        nodes.push(f);
        findings.push(...judgeNode(f));
      } catch (err) {
        findings.push({
          level: 'error',
          check: 'cluster',
          message: `cluster node ${n.address} does not answer: ${describeError(err)}`,
          setting: 'REDIS_URL seeds, or the node',
        });
      } finally {
        r.disconnect();
      }
    }
    const masters: ClusterMaster[] = parsed
      .filter((n) => n.master && n.slots > 0)
      .map((m) => ({
        address: m.address,
        slots: m.slots,
        replicas: parsed.filter((r) => r.masterId === m.id && !r.failed).map((r) => r.address),
        shards: [],
      }));
    const covered = masters.reduce((a, m) => a + m.slots, 0);
    findings.push(
      covered === 16384
        ? {
            level: 'ok',
            check: 'cluster',
            message: `cluster: ${masters.length} masters serve all 16384 slots`,
          }
        : {
            level: 'error',
            check: 'cluster',
            message: `cluster: only ${covered} of 16384 slots are served`,
            setting: 'redis-cli --cluster fix',
          },
    );
    for (const m of masters) {
      if (m.replicas.length === 0)
        findings.push({
          level: 'warn',
          check: 'cluster',
          message: `cluster master ${m.address} has no replica: losing it loses its slots`,
          setting: 'add a replica (redis-cli --cluster add-node --cluster-slave)',
        });
    }
    if (o.keys) {
      const byAddress = new Map(masters.map((m) => [m.address, m]));
      for (const name of ['jobs', 'results'] as const) {
        for (const key of o.keys.allShards(name)) {
          const slot = keySlot(key);
          const owner = parsed.find(
            (n) => n.master && n.ranges.some(([a, b]) => slot >= a && slot <= b),
          );
          if (owner) byAddress.get(owner.address)?.shards.push(key);
        }
      }
      const idle = masters.filter((m) => m.shards.length === 0);
      if (o.keys.shards < masters.length || idle.length > 0)
        findings.push({
          level: 'warn',
          check: 'cluster',
          message: `cluster: ${o.keys.shards} stream shards over ${masters.length} masters; ${idle.length} masters serve no shard of jobs or results`,
          setting: `COLONY_SHARDS=${masters.length * 2} (a multiple of the masters)`,
        });
    }
    return { cluster: true, nodes, masters, findings };
  } finally {
    first.disconnect();
  }
}

/**
 * The check every command that writes makes at start: Redis answers (RedisUnavailableError
 * otherwise), is 6.2+ and does not evict, on every node of a cluster. Throws RedisUnfitError
 * naming each setting to change; passes persistence and layout findings that are not errors to
 * `report` (a log line), and returns the whole report.
 */
export async function verifyRedis(
  url: string,
  o: { report?: (f: Finding) => void; timeoutMs?: number } = {},
): Promise<RedisReport> {
  await probeRedis(url, o.timeoutMs);
  const report = await inspectRedis(
    url,
    o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs },
  );
  const errors = report.findings.filter((f) => f.level === 'error');
  if (errors.length > 0) {
    throw new RedisUnfitError(
      errors.map((e) => `${e.message}${e.setting ? `; set ${e.setting}` : ''}`).join('; '),
    );
  }
  for (const f of report.findings) if (f.level === 'warn') o.report?.(f);
  return report;
}
