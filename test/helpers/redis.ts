import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../schemas/config.js';
import { connectRedis, type ColonyRedis } from '../../streams/redis.js';

/** The Redis the tests use: REDIS_URL, or the machine's default. */
export const TEST_REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/** A key prefix no other test uses, so tests never see each other's streams. */
export function uniquePrefix(name = 't'): string {
  return `test-${name}-${randomBytes(4).toString('hex')}`;
}

/** A validated config for tests: fast blocking reads and short timeouts unless overridden. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    ...loadConfig({ REDIS_URL: TEST_REDIS_URL }),
    prefix: uniquePrefix(),
    blockMs: 100,
    visibilityTimeoutMs: 5000,
    copyTimeoutMs: 5000,
    ...overrides,
  };
}

export async function testRedis(url = TEST_REDIS_URL): Promise<ColonyRedis> {
  return connectRedis(url, 'colony-test');
}

/** Deletes every key under a prefix (SCAN, never KEYS). */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
