import type { DeadLetter, StreamName } from '../schemas/events.js';
import { SCHEMA_VERSION, TRACEPARENT_PATTERN } from '../schemas/events.js';
import { encodeEntry } from './codec.js';
import type { Keys } from './keys.js';
import type { ColonyRedis } from './scripts.js';

export type DeadLetterInput = {
  stream: StreamName;
  sourceKey: string;
  group: string;
  id: string;
  fields: Record<string, string>;
  deliveries: number;
  reason: string;
};

/**
 * Acks an entry and appends it to `dead` with its history, atomically (one script). Returns
 * false when the entry was no longer pending: another consumer finished it first.
 */
export async function deadLetter(
  redis: ColonyRedis,
  keys: Keys,
  input: DeadLetterInput,
): Promise<boolean> {
  const letter: DeadLetter = {
    type: 'dead-letter',
    v: SCHEMA_VERSION,
    ...(TRACEPARENT_PATTERN.test(input.fields.traceparent ?? '')
      ? { traceparent: input.fields.traceparent }
      : {}),
    stream: input.stream,
    group: input.group,
    entryId: input.id,
    deliveries: input.deliveries,
    reason: input.reason.slice(0, 2000),
    fields: input.fields,
    deadAt: Date.now(),
  };
  const deadId = await redis.deadLetter(
    input.sourceKey,
    keys.deadFor(input.sourceKey),
    input.group,
    input.id,
    ...encodeEntry('dead', letter),
  );
  return deadId !== 0;
}
