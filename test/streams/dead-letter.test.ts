import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCHEMA_VERSION, type DeadLetter } from '../../schemas/events.js';
import { encodeEntry } from '../../streams/codec.js';
import { deadLetter } from '../../streams/dead-letter.js';
import { GROUP, deadLetters, entryFields, harness, job, pendingCount } from './runner-harness.js';

const TIMEOUT = { timeout: 10_000 };

/** Fields of a dead letter for entry `id`, as the script receives them. */
function letterFields(id: string, fields: Record<string, string>): string[] {
  const letter: DeadLetter = {
    type: 'dead-letter',
    v: SCHEMA_VERSION,
    stream: 'jobs',
    group: GROUP,
    entryId: id,
    deliveries: 1,
    reason: 'test',
    fields,
    deadAt: Date.now(),
  };
  return encodeEntry('dead', letter);
}

test('appends a pending entry to dead with its fields and acks it, once', TIMEOUT, async (t) => {
  // Prepare
  const h = await harness(t, 'dl');
  await h.redis.xgroup('CREATE', h.key, GROUP, '0', 'MKSTREAM');
  const [id] = await h.publisher.publish('jobs', [job(0)]);
  await h.redis.xreadgroup('GROUP', GROUP, 'me', 'COUNT', 10, 'STREAMS', h.key, '>');
  const fields = await entryFields(h.redis, h.key, id!);
  const input = {
    stream: 'jobs' as const,
    sourceKey: h.key,
    group: GROUP,
    id: id!,
    fields,
    deliveries: 2,
    reason: 'boom',
  };

  // Act
  const first = await deadLetter(h.redis, h.keys, input);
  const again = await deadLetter(h.redis, h.keys, input);

  // Assess
  assert.equal(first, true);
  assert.equal(again, false, 'an entry is dead-lettered once');
  const letters = await deadLetters(h.redis, h.keys.deadFor(h.key));
  assert.equal(letters.length, 1);
  assert.deepEqual(
    [letters[0]!.entryId, letters[0]!.deliveries, letters[0]!.reason, letters[0]!.fields],
    [id, 2, 'boom', fields],
  );
  assert.equal(await pendingCount(h.redis, h.key), 0);
});

test(
  'an entry no longer pending (acked already) is not written to dead: the script returns 0',
  TIMEOUT,
  async (t) => {
    // Prepare: "me" reads the entry and another consumer's ack finishes it first.
    const h = await harness(t, 'dl');
    await h.redis.xgroup('CREATE', h.key, GROUP, '0', 'MKSTREAM');
    const [id] = await h.publisher.publish('jobs', [job(0)]);
    await h.redis.xreadgroup('GROUP', GROUP, 'me', 'COUNT', 10, 'STREAMS', h.key, '>');
    const fields = await entryFields(h.redis, h.key, id!);
    await h.redis.xack(h.key, GROUP, id!);
    const deadKey = h.keys.deadFor(h.key);

    // Act
    const reply = await h.redis.deadLetter(
      h.key,
      deadKey,
      GROUP,
      id!,
      ...letterFields(id!, fields),
    );
    const viaHelper = await deadLetter(h.redis, h.keys, {
      stream: 'jobs',
      sourceKey: h.key,
      group: GROUP,
      id: id!,
      fields,
      deliveries: 1,
      reason: 'late',
    });

    // Assess
    assert.equal(reply, 0);
    assert.equal(viaHelper, false);
    assert.equal(await h.redis.xlen(deadKey), 0);
    assert.equal(await pendingCount(h.redis, h.key), 0);
  },
);

test(
  'when the append to dead fails, the entry stays pending instead of vanishing',
  TIMEOUT,
  async (t) => {
    // Prepare: the dead stream's key holds a string, so XADD to it fails inside the script.
    const h = await harness(t, 'dl');
    await h.redis.xgroup('CREATE', h.key, GROUP, '0', 'MKSTREAM');
    const [id] = await h.publisher.publish('jobs', [job(0)]);
    await h.redis.xreadgroup('GROUP', GROUP, 'me', 'COUNT', 10, 'STREAMS', h.key, '>');
    const fields = await entryFields(h.redis, h.key, id!);
    const deadKey = h.keys.deadFor(h.key);
    await h.redis.set(deadKey, 'not a stream');

    // Act + Assess
    await assert.rejects(
      h.redis.deadLetter(h.key, deadKey, GROUP, id!, ...letterFields(id!, fields)),
      /WRONGTYPE/,
    );
    assert.equal(await pendingCount(h.redis, h.key), 1);
  },
);
