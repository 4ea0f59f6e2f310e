import { ClassState } from '../schemas/class-state.js';
import type { Failure, FileResults } from '../schemas/events.js';
import { ScriptError } from '../schemas/errors.js';
import type { Keys } from './keys.js';
import { replicate } from './redis.js';
import { ScriptCode, type ColonyRedis } from './scripts.js';

export type NewClass = {
  classId: string;
  manifestUrl: string;
  dest: string;
  sourceBase?: string | undefined;
  eventId: string;
  traceparent: string;
  version?: string | undefined;
  title?: string | undefined;
};

export type RequestAnswer = {
  /** new: a new run was created; duplicate: this class and version were requested before;
   * conflict: another version of the class is being transferred. */
  kind: 'new' | 'duplicate' | 'conflict';
  status: string;
  eventId: string;
  run: number;
};

export type RecordOutcome = {
  classId: string;
  /** False when the class has no registered crawl: the results are for an unknown class. */
  known: boolean;
  /** True when the results belong to an earlier run of the class and were not counted. */
  stale: boolean;
  counted: number;
  ignored: number;
};

/**
 * The per-class state in Redis, behind one narrow interface: every write that must be exactly
 * once is a script on the class's own hash slot.
 */
export class ClassStore {
  constructor(
    private readonly redis: ColonyRedis,
    private readonly keys: Keys,
  ) {}

  /** Requests a class run, idempotently per (class, version). */
  async request(c: NewClass, now = Date.now()): Promise<RequestAnswer> {
    const pairs: string[] = [
      'classId',
      c.classId,
      'manifestUrl',
      c.manifestUrl,
      'dest',
      c.dest,
      'sourceBase',
      c.sourceBase ?? '',
      'status',
      'queued',
      'eventId',
      c.eventId,
      'traceparent',
      c.traceparent,
      'version',
      c.version ?? '',
      'title',
      c.title ?? '',
      'requestedAt',
      String(now),
    ];
    const id = c.classId;
    const [code, status, eventId, run] = await this.redis.requestClass(
      this.keys.classMeta(id),
      this.keys.classDone(id),
      this.keys.classFailures(id),
      this.keys.classEvents(id),
      c.version ?? '',
      c.eventId,
      ...pairs,
    );
    if (code === ScriptCode.NewRun) await this.redis.zadd(this.keys.classIndex(), 'NX', now, id);
    await replicate(this.redis, [this.keys.classMeta(id)]);
    const kind =
      code === ScriptCode.NewRun
        ? 'new'
        : code === ScriptCode.OtherVersionInFlight
          ? 'conflict'
          : 'duplicate';
    return { kind, status, eventId, run: Number(run) };
  }

  async get(classId: string): Promise<ClassState | undefined> {
    const raw = await this.redis.hgetall(this.keys.classMeta(classId));
    if (!raw.classId) return undefined;
    return ClassState.parse(raw);
  }

  /** Fixes the class's file count before its jobs exist; a re-crawl keeps the first count. */
  async registerCrawl(classId: string, total: number): Promise<number> {
    const registered = await this.redis.registerCrawl(
      this.keys.classMeta(classId),
      total,
      Date.now(),
    );
    // The jobs published next may sit on another node: the count must outlive a failover first.
    await replicate(this.redis, [this.keys.classMeta(classId)]);
    return registered;
  }

  /** Every job of the class is published: a redelivered class entry has nothing left to do. */
  async markCrawled(classId: string): Promise<void> {
    await this.redis.hset(this.keys.classMeta(classId), 'crawled', '1');
  }

  /** Counts results, each file once: one script call per results entry, all in one pipeline. */
  async record(entries: readonly FileResults[]): Promise<RecordOutcome[]> {
    const pipeline = this.redis.pipeline() as unknown as ColonyRedis;
    const now = Date.now();
    for (const e of entries) {
      let packed = '';
      let failures: Record<string, { path: string; reason: string }> | undefined;
      for (const r of e.results) {
        if (r.status === 'failed') {
          packed += `${r.ordinal}:f:0:${r.attempts},`;
          (failures ??= {})[r.ordinal] = { path: r.key, reason: r.reason };
        } else {
          packed += `${r.ordinal}:${r.status === 'copied' ? 'c' : 's'}:${r.bytes}:${r.attempts},`;
        }
      }
      void pipeline.recordResults(
        this.keys.classMeta(e.classId),
        this.keys.classDone(e.classId),
        this.keys.classFailures(e.classId),
        now,
        e.run,
        packed,
        failures ? JSON.stringify(failures) : '{}',
      );
    }
    const replies =
      (await (pipeline as unknown as { exec(): Promise<[Error | null, unknown][]> }).exec()) ?? [];
    // The results are acked next, on their own shard's node: the counts must be on a replica.
    await replicate(
      this.redis,
      entries.map((e) => this.keys.classMeta(e.classId)),
    );
    return replies.map(([err, reply], i) => {
      if (err) throw new ScriptError(`recording results failed: ${err.message}`);
      const [code, counted, ignored] = reply as [number, number, number];
      return {
        classId: entries[i]!.classId,
        known: code !== ScriptCode.ClassNotRegistered,
        stale: code === ScriptCode.StaleRun,
        counted,
        ignored,
      };
    });
  }

  /** Failed files of a class with their reasons, in ordinal order. */
  async failures(classId: string): Promise<Failure[]> {
    return (await this.failedFiles(classId)).map(({ path, reason }) => ({ path, reason }));
  }

  /** Failed files of a class with their ordinals and reasons, in ordinal order. */
  async failedFiles(classId: string): Promise<(Failure & { ordinal: number })[]> {
    const raw = await this.redis.hgetall(this.keys.classFailures(classId));
    return Object.entries(raw)
      .map(([ordinal, v]) => ({ ordinal: Number(ordinal), ...(JSON.parse(v) as Failure) }))
      .sort((a, b) => a.ordinal - b.ordinal);
  }

  /** Claims the publication of the class's current outcome; 0 when there is nothing to claim. */
  async claimOutcome(classId: string, leaseMs = 30_000): Promise<number> {
    return this.redis.claimOutcome(this.keys.classMeta(classId), Date.now(), leaseMs);
  }

  /** Records that the outcome of `revision` is on the outcomes stream. */
  async markPublished(classId: string, revision: number): Promise<void> {
    await this.redis.hset(this.keys.classMeta(classId), 'published', String(revision));
  }

  /** Class ids, oldest request first. */
  async list(limit = 1000): Promise<string[]> {
    return this.redis.zrange(this.keys.classIndex(), 0, limit - 1);
  }

  /** How many classes were ever requested under this prefix. */
  async count(): Promise<number> {
    return this.redis.zcard(this.keys.classIndex());
  }

  /** The states of many classes in one round trip (undefined for a class that has none). */
  async getMany(classIds: readonly string[]): Promise<(ClassState | undefined)[]> {
    if (classIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of classIds) pipeline.hgetall(this.keys.classMeta(id));
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, raw]) => {
      if (err) throw err;
      const r = raw as Record<string, string>;
      return r.classId ? ClassState.parse(r) : undefined;
    });
  }

  /**
   * The done bitmap of a class as stored: bit i (most significant bit first of byte i/8) is set
   * once file i reached a terminal state. Trailing bytes never set are absent.
   */
  async doneBits(classId: string): Promise<Buffer> {
    return (await this.redis.getBuffer(this.keys.classDone(classId))) ?? Buffer.alloc(0);
  }
}
