import { Redis, type RedisOptions } from 'ioredis';
import { RedisUnavailableError, describeError } from '../schemas/errors.js';
import { RECONNECT_BACKOFF, backoffDelay } from '../copy/backoff.js';
import { metrics } from './metrics.js';
import { defineScripts, type ColonyRedis } from './scripts.js';

export type { ColonyRedis };

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

const base = (url: string): RedisOptions => ({
  lazyConnect: true,
  connectTimeout: 5000,
  // Commands wait for the connection to come back rather than failing: a stage rides out a
  // Redis restart and carries on where it was.
  maxRetriesPerRequest: null,
  retryStrategy: (times) => backoffDelay(times, RECONNECT_BACKOFF),
  tls: url.startsWith('rediss:') ? {} : undefined,
});

/**
 * Checks that Redis answers, once, quickly, so that a bad REDIS_URL is one clear line rather
 * than a reconnect loop. Throws RedisUnavailableError naming the (redacted) URL and the variable.
 */
export async function probeRedis(url: string, timeoutMs = 3000): Promise<void> {
  const probe = new Redis(url, {
    ...base(url),
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let lastError: unknown;
  probe.on('error', (err) => {
    lastError = err;
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new RedisUnavailableError(
      `cannot reach Redis at ${redactUrl(url)} (${describeError(lastError ?? err)}); set REDIS_URL to a running Redis 6.2+`,
    );
  } finally {
    probe.disconnect();
  }
}

/**
 * Counts what a connection sends (GET /metrics): every command, and every round trip, where a
 * pipeline is one round trip however many commands it holds. ioredis hands each command of a
 * pipeline to sendCommand with the pipeline's own write buffer as `stream`.
 */
function countRoundTrips(redis: Redis): void {
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

/** A command connection with colony's scripts defined on it. */
export async function connectRedis(url: string, name = 'colony'): Promise<ColonyRedis> {
  const redis = new Redis(url, { ...base(url), connectionName: name });
  countRoundTrips(redis);
  redis.on('error', () => {
    // Reconnects are handled by retryStrategy; errors surface on the commands that fail.
  });
  defineScripts(redis);
  await redis.connect();
  return redis as ColonyRedis;
}

/**
 * A connection for one blocking reader. An interrupted XREADGROUP BLOCK that ioredis re-sends
 * after a reconnect can hang forever, so unfinished commands are never re-sent here; the reader
 * retries with a fresh command, under its own watchdog.
 */
export async function connectBlocking(url: string, name = 'colony-reader'): Promise<Redis> {
  const redis = new Redis(url, {
    ...base(url),
    connectionName: name,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
  });
  countRoundTrips(redis);
  redis.on('error', () => {});
  await redis.connect();
  return redis;
}
