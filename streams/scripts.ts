import type { Redis } from 'ioredis';
import { deadLetter2 } from './scripts/dead-letter-2.js';
import { recordResults3 } from './scripts/record-results-3.js';
import { registerCrawl1 } from './scripts/register-crawl-1.js';
import { requestClass1 } from './scripts/request-class-1.js';

/** A Redis connection with colony's Lua scripts as commands (EVALSHA with EVAL fallback). */
export interface ColonyRedis extends Redis {
  deadLetter(source: string, dead: string, group: string, id: string, ...fields: string[]): Promise<string | 0>;
  requestClass(meta: string, ...pairs: string[]): Promise<[number, string, string]>;
  registerCrawl(meta: string, total: number, now: number): Promise<number>;
  recordResults(
    meta: string,
    done: string,
    failures: string,
    now: number,
    ...results: (string | number)[]
  ): Promise<[number, number, number]>;
}

/** Script return codes, named once. */
export const ScriptCode = { Ok: 0, ClassNotRegistered: -1 } as const;

export function defineScripts(redis: Redis): void {
  redis.defineCommand('deadLetter', { numberOfKeys: 2, lua: deadLetter2 });
  redis.defineCommand('requestClass', { numberOfKeys: 1, lua: requestClass1 });
  redis.defineCommand('registerCrawl', { numberOfKeys: 1, lua: registerCrawl1 });
  redis.defineCommand('recordResults', { numberOfKeys: 3, lua: recordResults3 });
}
