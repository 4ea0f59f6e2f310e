import type { Cluster, Redis } from 'ioredis';
import { claimOutcome1 } from './scripts/claim-outcome-1.js';
import { deadLetter2 } from './scripts/dead-letter-2.js';
import { deleteIdleConsumer1 } from './scripts/delete-idle-consumer-1.js';
import { recordResults3 } from './scripts/record-results-3.js';
import { registerCrawl1 } from './scripts/register-crawl-1.js';
import { requestClass4 } from './scripts/request-class-4.js';
import { retryDeadLetter2 } from './scripts/retry-dead-letter-2.js';

/**
 * The commands colony sends on a command connection: the narrow type every module uses, which a
 * single Redis and an ioredis Cluster both give (see streams/redis.ts connectRedis).
 */
type Commands =
  | 'isCluster'
  | 'status'
  | 'pipeline'
  | 'call'
  | 'eval'
  | 'info'
  | 'ping'
  | 'quit'
  | 'disconnect'
  | 'xadd'
  | 'xack'
  | 'xdel'
  | 'xlen'
  | 'xgroup'
  | 'xpending'
  | 'xclaim'
  | 'xreadgroup'
  | 'xrange'
  | 'xrevrange'
  | 'xtrim'
  | 'get'
  | 'getBuffer'
  | 'set'
  | 'del'
  | 'mget'
  | 'exists'
  | 'pexpire'
  | 'hget'
  | 'hgetall'
  | 'hset'
  | 'hdel'
  | 'hincrby'
  | 'hlen'
  | 'zadd'
  | 'zrange'
  | 'zcard'
  | 'zcount'
  | 'zrangebyscore'
  | 'zscore'
  | 'zrem'
  | 'multi';

/** A Redis connection with colony's Lua scripts as commands (EVALSHA with EVAL fallback). */
export interface ColonyRedis extends Pick<Redis, Commands> {
  deadLetter(
    source: string,
    dead: string,
    group: string,
    id: string,
    ...fields: string[]
  ): Promise<string | 0>;
  deleteIdleConsumer(stream: string, group: string, consumer: string): Promise<0 | 1>;
  requestClass(
    meta: string,
    done: string,
    failures: string,
    events: string,
    version: string,
    eventId: string,
    ...pairs: string[]
  ): Promise<[number, string, string, number]>;
  registerCrawl(meta: string, total: number, now: number): Promise<number>;
  recordResults(
    meta: string,
    done: string,
    failures: string,
    now: number,
    run: number,
    packed: string,
    failuresJson: string,
  ): Promise<[number, number, number]>;
  claimOutcome(meta: string, now: number, leaseMs: number): Promise<number>;
  retryDeadLetter(
    dead: string,
    source: string,
    deadId: string,
    ...fields: string[]
  ): Promise<string | 0>;
}

/** Script return codes, named once. */
export const ScriptCode = {
  Ok: 0,
  ClassNotRegistered: -1,
  StaleRun: -2,
  Duplicate: 0,
  NewRun: 1,
  OtherVersionInFlight: 2,
} as const;

export function defineScripts(redis: Redis | Cluster): void {
  redis.defineCommand('deadLetter', { numberOfKeys: 2, lua: deadLetter2 });
  redis.defineCommand('deleteIdleConsumer', { numberOfKeys: 1, lua: deleteIdleConsumer1 });
  redis.defineCommand('requestClass', { numberOfKeys: 4, lua: requestClass4 });
  redis.defineCommand('registerCrawl', { numberOfKeys: 1, lua: registerCrawl1 });
  redis.defineCommand('recordResults', { numberOfKeys: 3, lua: recordResults3 });
  redis.defineCommand('claimOutcome', { numberOfKeys: 1, lua: claimOutcome1 });
  redis.defineCommand('retryDeadLetter', { numberOfKeys: 2, lua: retryDeadLetter2 });
}
