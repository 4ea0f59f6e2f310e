import type { StreamName } from '../schemas/events.js';
import { fieldsToRecord } from './codec.js';
import type { Keys } from './keys.js';
import type { ColonyRedis } from './scripts.js';

/** The streams whose entries say a class started or ended: a request, an outcome. */
const WATCHED: StreamName[] = ['classes', 'outcomes'];

/**
 * Which classes were requested or reached an outcome since the last call, from the `classes` and
 * `outcomes` streams (read without a group, from where the last call stopped). A finished class
 * that a retried dead letter revives, or that a new version restarts, shows up here, so a reader
 * of class state need not re-read every finished class to notice.
 */
export class ClassActivity {
  private readonly cursors = new Map<string, string>();

  constructor(
    private readonly redis: ColonyRedis,
    private readonly keys: Keys,
  ) {}

  /** Starts from the end of the streams: only what happens from now on counts. */
  async start(): Promise<void> {
    for (const key of this.watchedKeys()) {
      const [last] = await this.redis.xrevrange(key, '+', '-', 'COUNT', 1);
      this.cursors.set(key, last?.[0] ?? '0-0');
    }
  }

  /** Class ids named by entries appended since the last call (at most `count` per stream). */
  async since(count = 1000): Promise<Set<string>> {
    const touched = new Set<string>();
    const keys = this.watchedKeys();
    const pipeline = this.redis.pipeline();
    for (const key of keys)
      pipeline.xread('COUNT', count, 'STREAMS', key, this.cursors.get(key) ?? '0-0');
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([err, reply], i) => {
      if (err) throw err;
      const entries = (reply as [string, [string, string[]][]][] | null)?.[0]?.[1] ?? [];
      for (const [id, flat] of entries) {
        this.cursors.set(keys[i]!, id);
        try {
          const data = JSON.parse(fieldsToRecord(flat).data ?? '{}') as { classId?: unknown };
          if (typeof data.classId === 'string') touched.add(data.classId);
        } catch {
          // An entry that is not JSON names no class; the stages dead-letter it.
        }
      }
    });
    return touched;
  }

  private watchedKeys(): string[] {
    return WATCHED.flatMap((s) => this.keys.allShards(s));
  }
}
