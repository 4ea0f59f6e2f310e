import type { Keys } from './keys.js';
import { getMany } from './redis.js';
import type { ColonyRedis } from './scripts.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/** A consumer name unique to this process: readable in `colony status`, never reused. */
export function consumerName(role: string): string {
  return `${role}@${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * Announces that a consumer is alive with a key that expires unless refreshed. A consumer whose
 * key is gone died (kill -9, lost machine): what it held can be claimed at once, without waiting
 * for the visibility timeout that protects slow but live consumers.
 */
export class Liveness {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: ColonyRedis,
    private readonly keys: Keys,
    readonly name: string,
    readonly ttlMs = 10_000,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(
      () => {
        this.beat().catch(() => {
          // Redis away: the key may lapse, and our entries be claimed by others; copies are
          // idempotent, so that costs work, not correctness.
        });
      },
      Math.max(250, Math.floor(this.ttlMs / 3)),
    );
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    await this.redis.set(this.keys.alive(this.name), String(Date.now()), 'PX', this.ttlMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.del(this.keys.alive(this.name)).catch(() => {});
  }

  /** Which of the named consumers have a live key. */
  async alive(names: readonly string[]): Promise<boolean[]> {
    return consumersAlive(this.redis, this.keys, names);
  }
}

/** Which of the named consumers have a live key (the process behind them is running). */
export async function consumersAlive(
  redis: ColonyRedis,
  keys: Keys,
  names: readonly string[],
): Promise<boolean[]> {
  if (names.length === 0) return [];
  const values = await getMany(
    redis,
    names.map((n) => keys.alive(n)),
  );
  return values.map((v) => v !== null);
}
