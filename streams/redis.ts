import { Redis, type RedisOptions } from 'ioredis';
import { RedisUnavailableError, ReplicationError, describeError } from '../schemas/errors.js';
import { RECONNECT_BACKOFF, backoffDelay } from '../copy/backoff.js';
import { metrics } from './metrics.js';
import { ColonyCluster, ShardReader, type BlockingConnection } from './cluster.js';
import { keySlot } from './key-slot.js';
import { parseRedisUrl, redact, type RedisTarget } from './redis-url.js';
import { defineScripts, type ColonyRedis } from './scripts.js';

export type { BlockingConnection, ColonyRedis };

const base = (tls: boolean): RedisOptions => ({
  lazyConnect: true,
  connectTimeout: 5000,
  // Commands wait for the connection to come back rather than failing: a stage rides out a
  // Redis restart and carries on where it was.
  maxRetriesPerRequest: null,
  retryStrategy: (times) => backoffDelay(times, RECONNECT_BACKOFF),
  tls: tls ? {} : undefined,
});

const login = (t: RedisTarget): RedisOptions => ({
  ...(t.username ? { username: t.username } : {}),
  ...(t.password ? { password: t.password } : {}),
});

/** How a write that a later ack on another node depends on is made safe from a failover. */
export type ReplicaWait = {
  /** Replicas that must confirm the write (WAIT numreplicas); 0 to not wait. */
  replicas: number;
  timeoutMs: number;
};

type Context = { url: string; target: RedisTarget; cluster?: ColonyCluster; wait: ReplicaWait };
const contexts = new WeakMap<object, Context>();

/** Opens a connection to the first seed of a REDIS_URL that answers, without retries. */
async function openProbe(url: string, timeoutMs: number): Promise<Redis> {
  const target = parseRedisUrl(url);
  let lastError: unknown;
  for (const seed of target.seeds) {
    const probe = new Redis({
      ...base(target.tls),
      ...login(target),
      host: seed.host,
      port: seed.port,
      db: target.db,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    probe.on('error', (err) => {
      lastError = err;
    });
    try {
      await probe.connect();
      await probe.ping();
      return probe;
    } catch (err) {
      lastError ??= err;
      probe.disconnect();
    }
  }
  throw new RedisUnavailableError(
    `cannot reach Redis at ${redact(url)} (${describeError(lastError)}); set REDIS_URL to a running Redis 6.2+`,
  );
}

/**
 * Checks that Redis answers, once, quickly, so that a bad REDIS_URL is one clear line rather
 * than a reconnect loop. Throws RedisUnavailableError naming the (redacted) URL and the variable.
 */
export async function probeRedis(url: string, timeoutMs = 3000): Promise<void> {
  (await openProbe(url, timeoutMs)).disconnect();
}

/** Whether REDIS_URL names a Redis Cluster: several seeds, or `cluster_enabled:1` on the node. */
export async function isClusterUrl(url: string, timeoutMs = 3000): Promise<boolean> {
  if (parseRedisUrl(url).seeds.length > 1) return true;
  const probe = await openProbe(url, timeoutMs);
  try {
    return /^cluster_enabled:1\s*$/m.test(await probe.info('cluster'));
  } finally {
    probe.disconnect();
  }
}

/**
 * Counts what a connection sends (GET /metrics): every command, and every round trip, where a
 * pipeline is one round trip however many commands it holds. ioredis hands each command of a
 * pipeline to sendCommand with the pipeline's own write buffer as `stream`.
 */
function countRoundTrips(redis: Pick<Redis, 'sendCommand'>): void {
  const send = redis.sendCommand.bind(redis);
  const pipelines = new WeakSet<object>();
  redis.sendCommand = ((...args: unknown[]) => {
    metrics.redisCommands.inc();
    const stream = args[1];
    if (typeof stream !== 'object' || stream === null || !('isPipeline' in stream)) {
      metrics.redisRoundTrips.inc();
    } else if (!pipelines.has(stream)) {
      pipelines.add(stream);
      metrics.redisRoundTrips.inc();
    }
    return (send as (...a: unknown[]) => ReturnType<Redis['sendCommand']>)(...args);
  }) as Redis['sendCommand'];
}

/**
 * A command connection with colony's scripts defined on it: a plain connection to a single
 * Redis, or an ioredis Cluster (MOVED, ASK and failovers handled, pipelines split by node) when
 * the server runs in cluster mode.
 */
export async function connectRedis(
  url: string,
  name = 'colony',
  o: { replicaWait?: ReplicaWait } = {},
): Promise<ColonyRedis> {
  const target = parseRedisUrl(url);
  const wait = o.replicaWait ?? { replicas: 1, timeoutMs: 2000 };
  if (await isClusterUrl(url)) {
    const cluster = new ColonyCluster(target.seeds, {
      lazyConnect: true,
      // A failover takes a few seconds (cluster-node-timeout and an election): commands retry
      // through it, on the slot map refreshed after each failure.
      maxRedirections: 64,
      retryDelayOnFailover: 250,
      retryDelayOnClusterDown: 250,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: 2000,
      clusterRetryStrategy: (times) => backoffDelay(times, RECONNECT_BACKOFF),
      redisOptions: { ...base(target.tls), ...login(target), connectionName: name },
    });
    cluster.on('error', () => {});
    countRoundTrips(cluster as unknown as Pick<Redis, 'sendCommand'>);
    defineScripts(cluster);
    await cluster.connect();
    contexts.set(cluster, { url, target, cluster, wait });
    return cluster as unknown as ColonyRedis;
  }
  const redis = new Redis(url.split(',')[0]!.trim(), {
    ...base(target.tls),
    connectionName: name,
  });
  countRoundTrips(redis);
  redis.on('error', () => {
    // Reconnects are handled by retryStrategy; errors surface on the commands that fail.
  });
  defineScripts(redis);
  await redis.connect();
  contexts.set(redis, { url, target, wait });
  return redis as unknown as ColonyRedis;
}

/**
 * A connection for one blocking reader. An interrupted XREADGROUP BLOCK that ioredis re-sends
 * after a reconnect can hang forever, so unfinished commands are never re-sent here; the reader
 * retries with a fresh command, under its own watchdog.
 */
export async function connectBlocking(url: string, name = 'colony-reader'): Promise<Redis> {
  const target = parseRedisUrl(url);
  const redis = new Redis(url.split(',')[0]!.trim(), {
    ...base(target.tls),
    connectionName: name,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
  });
  countRoundTrips(redis);
  redis.on('error', () => {});
  await redis.connect();
  return redis;
}

/**
 * The blocking connection of a reader of one stream shard: on a single Redis a connection of its
 * own (see connectBlocking); on a cluster a connection to the master that owns the shard's slot,
 * found again after MOVED or a failover (see ShardReader).
 */
export async function connectReader(
  redis: ColonyRedis,
  key: string,
  name: string,
): Promise<BlockingConnection> {
  const ctx = contexts.get(redis);
  if (!ctx) throw new Error('connectReader: the connection was not made by connectRedis');
  if (!ctx.cluster) return connectBlocking(ctx.url, name);
  return new ShardReader(ctx.cluster, key, {
    ...base(ctx.target.tls),
    ...login(ctx.target),
    connectionName: name,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
  });
}

/** GET of many keys: one MGET on a single Redis; one GET per key, pipelined, on a cluster. */
export async function getMany(
  redis: ColonyRedis,
  keys: readonly string[],
): Promise<(string | null)[]> {
  if (keys.length === 0) return [];
  if (!redis.isCluster) return redis.mget(...keys);
  const p = redis.pipeline();
  for (const key of keys) p.get(key);
  return ((await p.exec()) ?? []).map(([err, v]) => {
    if (err) throw err;
    return (v as string | null) ?? null;
  });
}

/**
 * On a Redis Cluster, waits until the replicas of each node that serves these keys confirm the
 * writes made to it so far (WAIT), so that an ack sent to another node afterwards cannot outlive
 * them in a failover (replication is asynchronous: a promoted replica lacks what it had not
 * received). Nothing to do on a single Redis, or for a master the cluster knows no live replica
 * of (the slot map leaves failed replicas out): nobody can be promoted in its place with less.
 * A replica that is known but has not confirmed in time (lagging, or its link down) throws
 * ReplicationError, which is retryable: the work is handed back, not acked, and tried again.
 */
export async function replicate(redis: ColonyRedis, keys: Iterable<string>): Promise<void> {
  if (!redis.isCluster) return;
  const ctx = contexts.get(redis);
  if (!ctx?.cluster || ctx.wait.replicas === 0) return;
  const cluster = ctx.cluster;
  const byNode = new Map<string, { key: string; replicas: number }>();
  for (const key of keys) {
    const nodes = cluster.slots[keySlot(key)] ?? [];
    const node = nodes[0] ?? key;
    if (!byNode.has(node)) byNode.set(node, { key, replicas: Math.max(0, nodes.length - 1) });
  }
  await Promise.all(
    [...byNode.entries()].map(async ([node, { key, replicas }]) => {
      const wanted = Math.min(ctx.wait.replicas, replicas);
      if (wanted === 0) return;
      // EXISTS routes the pipeline to the key's node; WAIT then covers every write this
      // process sent on that node's connection before it.
      const replies = (await cluster
        .nodePipeline()
        .exists(key)
        .call('WAIT', wanted, ctx.wait.timeoutMs)
        .exec()) as [Error | null, unknown][];
      const [waitErr, acked] = replies[1] ?? [new Error('no reply to WAIT'), 0];
      if (waitErr) throw waitErr;
      if (Number(acked) >= wanted) return;
      throw new ReplicationError(
        `Redis node ${node}: ${Number(acked)} of ${wanted} replicas confirmed a write within ${ctx.wait.timeoutMs} ms (COLONY_REPLICA_WAIT_MS)`,
      );
    }),
  );
}
