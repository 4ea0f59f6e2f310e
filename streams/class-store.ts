import { ClassState } from '../schemas/class-state.js';
import type { Failure, FileResult } from '../schemas/events.js';
import { ScriptError } from '../schemas/errors.js';
import type { Keys } from './keys.js';
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

export type RecordOutcome = {
  classId: string;
  /** False when the class has no registered crawl: the results are for an unknown class. */
  known: boolean;
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

  /** Creates the class if it is new; returns whether it was, with the class's status and event id. */
  async request(c: NewClass, now = Date.now()): Promise<{ created: boolean; status: string; eventId: string }> {
    const pairs: string[] = [
      'classId', c.classId, 'manifestUrl', c.manifestUrl, 'dest', c.dest,
      'sourceBase', c.sourceBase ?? '', 'status', 'queued', 'eventId', c.eventId,
      'traceparent', c.traceparent, 'version', c.version ?? '', 'title', c.title ?? '',
      'requestedAt', String(now),
    ];
    const [created, status, eventId] = await this.redis.requestClass(this.keys.classMeta(c.classId), ...pairs);
    if (created === 1) await this.redis.zadd(this.keys.classIndex(), 'NX', now, c.classId);
    return { created: created === 1, status, eventId };
  }

  async get(classId: string): Promise<ClassState | undefined> {
    const raw = await this.redis.hgetall(this.keys.classMeta(classId));
    if (!raw.classId) return undefined;
    return ClassState.parse(raw);
  }

  /** Fixes the class's file count before its jobs exist; a re-crawl keeps the first count. */
  async registerCrawl(classId: string, total: number): Promise<number> {
    return this.redis.registerCrawl(this.keys.classMeta(classId), total, Date.now());
  }

  /** Every job of the class is published: a redelivered class entry has nothing left to do. */
  async markCrawled(classId: string): Promise<void> {
    await this.redis.hset(this.keys.classMeta(classId), 'crawled', '1');
  }

  /** Counts results, each file once, with one script call per class in one pipeline. */
  async record(results: readonly FileResult[]): Promise<RecordOutcome[]> {
    const byClass = new Map<string, FileResult[]>();
    for (const r of results) {
      const list = byClass.get(r.classId);
      if (list) list.push(r);
      else byClass.set(r.classId, [r]);
    }
    const pipeline = this.redis.pipeline() as unknown as ColonyRedis;
    const now = Date.now();
    for (const [classId, list] of byClass) {
      const args: (string | number)[] = [];
      for (const r of list) {
        args.push(
          r.ordinal, r.status, r.status === 'failed' ? 0 : r.bytes, r.key,
          r.status === 'failed' ? r.reason : '',
        );
      }
      void pipeline.recordResults(
        this.keys.classMeta(classId), this.keys.classDone(classId), this.keys.classFailures(classId),
        now, ...args,
      );
    }
    const replies = ((await (pipeline as unknown as { exec(): Promise<[Error | null, unknown][]> }).exec()) ?? []);
    const classIds = [...byClass.keys()];
    return replies.map(([err, reply], i) => {
      if (err) throw new ScriptError(`recording results failed: ${err.message}`);
      const [code, counted, ignored] = reply as [number, number, number];
      return { classId: classIds[i]!, known: code !== ScriptCode.ClassNotRegistered, counted, ignored };
    });
  }

  /** Failed files of a class with their reasons, in ordinal order. */
  async failures(classId: string): Promise<Failure[]> {
    const raw = await this.redis.hgetall(this.keys.classFailures(classId));
    return Object.entries(raw)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([, v]) => JSON.parse(v) as Failure);
  }

  /** Records that the outcome of `revision` is on the outcomes stream. */
  async markPublished(classId: string, revision: number): Promise<void> {
    await this.redis.hset(this.keys.classMeta(classId), 'published', String(revision));
  }

  /** Class ids, oldest request first. */
  async list(limit = 1000): Promise<string[]> {
    return this.redis.zrange(this.keys.classIndex(), 0, limit - 1);
  }
}
