/**
 * Every Lua script's keys hash to one slot (Redis Cluster runs a script on one node only), as
 * the real call sites pass them: a pipeline run with 4 shards against a server of its own,
 * watched with MONITOR. Each EVAL/EVALSHA seen is matched to its script file; the keys it names
 * (as many as the file name says) must share a slot, and every script in streams/scripts/ must
 * be seen at least once, so a new script fails here until a step below exercises it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { startLocalRedis } from '../../cli/local-redis.js';
import { startSampleOrigin } from '../../cli/sample-origin.js';
import { classIdFor, requestClass } from '../../consumers/requests/ingest.js';
import { startStages } from '../../consumers/stages.js';
import { loadConfig } from '../../schemas/config.js';
import { listDeadLetters, retryDeadLetters } from '../../streams/dead-letters.js';
import { keySlot } from '../../streams/key-slot.js';
import { Keys } from '../../streams/keys.js';
import { silentLogger } from '../../streams/log.js';
import { trimStreams } from '../../streams/retention.js';
import { NoopRuntime } from '../../bench/noop-runtime.js';
import { waitFor } from '../helpers/redis.js';

const SCRIPTS = fileURLToPath(new URL('../../streams/scripts/', import.meta.url));

type Script = { file: string; keys: number; sha: string };

/** MONITOR prints arguments with C escapes (\\n, \\", \\xHH): the script text as it was. */
function unescape(s: string): string {
  return s.replace(/\\(x[0-9a-f]{2}|.)/g, (_, c: string) =>
    c.length === 3
      ? String.fromCharCode(parseInt(c.slice(1), 16))
      : (({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[c] ?? c),
  );
}

async function inventory(): Promise<Script[]> {
  const out: Script[] = [];
  for (const file of (await readdir(SCRIPTS)).filter((f) => f.endsWith('.ts'))) {
    const keys = Number(/-(\d+)\.ts$/.exec(file)?.[1]);
    assert.ok(Number.isInteger(keys), `${file}: the name ends with its key count`);
    const mod = (await import(new URL(file, `file://${SCRIPTS}`).href)) as Record<string, unknown>;
    const lua = Object.values(mod).find((v): v is string => typeof v === 'string');
    assert.ok(lua, `${file} exports its script`);
    out.push({ file, keys, sha: createHash('sha1').update(lua).digest('hex') });
  }
  return out;
}

test('every script names keys of one slot at every call site', { timeout: 40_000 }, async (t) => {
  // Prepare: a server of its own (MONITOR sees everything), a small library, 4 shards.
  const scripts = await inventory();
  const server = await startLocalRedis();
  const cleanup: (() => Promise<void> | void)[] = [() => server.stop()];
  // Last started, first stopped: the stages before the server, or they wait for it forever.
  t.after(async () => {
    for (const step of cleanup.reverse()) await step();
  });
  const origin = await startSampleOrigin({
    synthetic: { classes: 2, variants: 2, segmentsPerVariant: 30, segmentBytes: 10 },
  });
  cleanup.push(() => origin.close());
  const seen = new Map<string, string[][]>();
  const base = new Redis(server.url);
  const monitor = await base.monitor();
  cleanup.push(() => {
    monitor.disconnect();
    base.disconnect();
  });
  let synced = false;
  monitor.on('monitor', (_time: string, args: string[]) => {
    const cmd = args[0]?.toLowerCase();
    if (cmd === 'echo' && args[1] === 'script-slots-sync') synced = true;
    if (cmd !== 'eval' && cmd !== 'evalsha') return;
    const sha =
      cmd === 'eval' ? createHash('sha1').update(unescape(args[1]!)).digest('hex') : args[1]!;
    const list = seen.get(sha) ?? [];
    list.push(args);
    seen.set(sha, list);
  });
  const config = {
    ...loadConfig({ REDIS_URL: server.url }),
    prefix: 'slots',
    shards: 4,
    batchSize: 7,
    blockMs: 50,
    visibilityTimeoutMs: 2000,
  };
  const keys = new Keys(config.prefix, config.shards);
  const host = await startStages({
    config,
    stages: ['crawler', 'transfer', 'aggregator'],
    logger: silentLogger,
    runtime: new NoopRuntime(),
    livenessTtlMs: 500,
  });
  cleanup.push(() => host.stop());

  // Act: requests, crawls, results and outcomes (request, register, record, claim).
  const dest = 'file:///tmp/colony-slots-unused';
  const ids: string[] = [];
  for (let c = 0; c < 2; c++) {
    const manifestUrl = `${origin.url}/synthetic/c${c}/master.m3u8`;
    ids.push(classIdFor(manifestUrl, dest));
    await requestClass(host.deps.classes, host.deps.publisher, {
      classId: ids[c]!,
      manifestUrl,
      dest,
    });
  }
  for (const id of ids)
    await waitFor(
      async () => ((await host.deps.classes.get(id))?.published ? true : undefined),
      30_000,
      `${id} published`,
    );
  // A poison entry on a shard other than 0 is dead-lettered; then retried from dead.
  const raw = new Redis(server.url);
  cleanup.push(() => raw.disconnect());
  await raw.xadd(keys.stream('jobs', 3), '*', 'type', 'file-jobs', 'v', '1', 'data', 'not json');
  await waitFor(
    async () => ((await listDeadLetters(host.redis, keys)).length > 0 ? true : undefined),
    10_000,
    'dead letter',
  );
  assert.equal(
    await retryDeadLetters(host.redis, keys, await listDeadLetters(host.redis, keys)),
    1,
  );
  // A consumer that died holding nothing is removed.
  await raw.xgroup('CREATECONSUMER', keys.stream('jobs', 2), 'transfer', 'ghost@nowhere:1:x');
  await waitFor(
    async () => {
      const consumers = (await raw.call(
        'XINFO',
        'CONSUMERS',
        keys.stream('jobs', 2),
        'transfer',
      )) as string[][];
      return consumers.some((c) => c.includes('ghost@nowhere:1:x')) ? undefined : true;
    },
    10_000,
    'the ghost consumer removed',
  );
  await trimStreams({ redis: host.redis, keys }, ['jobs', 'results']);

  // MONITOR lags the commands: wait for a marker sent last.
  await raw.echo('script-slots-sync');
  await waitFor(async () => (synced ? true : undefined), 10_000, 'MONITOR caught up');

  // Assess
  const unseen: string[] = [];
  for (const s of scripts) {
    const calls = seen.get(s.sha) ?? [];
    if (calls.length === 0) unseen.push(s.file);
    for (const args of calls) {
      assert.equal(Number(args[2]), s.keys, `${s.file} called with ${args[2]} keys`);
      const named = args.slice(3, 3 + s.keys);
      const slots = new Set(named.map(keySlot));
      assert.equal(slots.size, 1, `${s.file} keys in ${slots.size} slots: ${named.join(' ')}`);
    }
  }
  assert.deepEqual(unseen, [], 'scripts no step here exercised');
});
