import { STREAM_NAMES } from '../schemas/events.js';
import { describeError } from '../schemas/errors.js';
import type { StreamArchive } from './archive.js';
import type { Keys } from './keys.js';
import type { Logger } from './log.js';
import { trimStreams } from './retention.js';
import type { ColonyRedis } from './scripts.js';

export type RetentionSchedule = { stop(): Promise<void> };

/**
 * Retention as policy: a long-running service trims, every `intervalMs`, what every consumer
 * group has acknowledged (archiving it first when an archive is given), so that the log does not
 * grow without bound. Of many services sharing a prefix, one trims per interval (a lease key);
 * trimming twice would be safe (the trim script computes its bound itself), only wasted work.
 */
export function startRetentionSchedule(o: {
  redis: ColonyRedis;
  keys: Keys;
  intervalMs: number;
  archive?: StreamArchive | undefined;
  logger: Logger;
}): RetentionSchedule {
  let running: Promise<void> | undefined;
  const tick = async () => {
    const leased = await o.redis.set(
      o.keys.trimLease(),
      String(process.pid),
      'PX',
      Math.max(1000, Math.floor(o.intervalMs * 0.9)),
      'NX',
    );
    if (leased !== 'OK') return;
    const shards = await trimStreams(
      { redis: o.redis, keys: o.keys, archive: o.archive },
      STREAM_NAMES,
    );
    const trimmed = shards.reduce((a, s) => a + s.trimmed, 0);
    const saved = shards.reduce((a, s) => a + s.memoryBefore - s.memoryAfter, 0);
    if (trimmed > 0)
      o.logger.info('retention trimmed acknowledged entries', {
        trimmed,
        archived: Boolean(o.archive),
        memory_saved_bytes: saved,
      });
  };
  const timer = setInterval(() => {
    if (running) return;
    running = tick()
      .catch((err: unknown) =>
        o.logger.warn('retention trim failed; trying again later', {
          err: describeError(err),
          retry_in_ms: o.intervalMs,
        }),
      )
      .finally(() => {
        running = undefined;
      });
  }, o.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
