/**
 * colony on a real Redis Cluster: 3 masters and 3 replicas from the machine's redis-server on
 * loopback ports (test/helpers/redis-cluster.ts), one cluster for the whole file, stopped by
 * PID after it. A transfer over 6 shards with trim, replay, reconcile and report on it; a master
 * killed in the middle of a transfer; and the asynchronous-replication gap closed by WAIT.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSampleOrigin, segmentBytes, type SampleOrigin } from '../../cli/sample-origin.js';
import { collect, runColony, spawnColony } from '../helpers/cli.js';
import { HLS_ROOT, expectedFixtures } from '../helpers/fixtures.js';
import { uniquePrefix, waitFor } from '../helpers/redis.js';
import { hasRedisServer, startLocalCluster, type LocalCluster } from '../helpers/redis-cluster.js';
import { connectRedis, type ColonyRedis } from '../../streams/redis.js';
import { Keys } from '../../streams/keys.js';
import { keySlot } from '../../streams/key-slot.js';
import { ClassStore } from '../../streams/class-store.js';
import { Publisher } from '../../streams/publisher.js';
import { createLogger, type Logger } from '../../streams/log.js';
import { startStages } from '../../consumers/stages.js';
import { loadConfig } from '../../schemas/config.js';
import { SCHEMA_VERSION } from '../../schemas/events.js';

type Report = {
  classes: {
    classId: string;
    status: string;
    files: number;
    copied: number;
    skipped: number;
    failed: number;
  }[];
};

const fixtures = expectedFixtures();
let cluster: LocalCluster;
let origin: SampleOrigin;
let redis: ColonyRedis;
const dirs: string[] = [];
const children: ChildProcess[] = [];
const SYNTHETIC = { classes: 4, variants: 2, segmentsPerVariant: 120, segmentBytes: 3000 };

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'colony-cluster-out-'));
  dirs.push(dir);
  return dir;
}

before(async () => {
  if (!hasRedisServer) return;
  cluster = await startLocalCluster();
  origin = await startSampleOrigin({ root: HLS_ROOT, synthetic: SYNTHETIC, segmentDelayMs: 2 });
  redis = await connectRedis(cluster.url, 'cluster-test');
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  redis?.disconnect();
  await origin?.close();
  await cluster?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('on a Redis Cluster (3 masters, 3 replicas)', { skip: !hasRedisServer }, () => {
  test('transfer over 6 shards, then report, reconcile --repair, trim --archive and replay', async () => {
    // Prepare
    const out = await tempDir();
    const prefix = uniquePrefix('cl');
    const env = {
      REDIS_URL: cluster.url,
      COLONY_PREFIX: prefix,
      COLONY_SHARDS: '6',
      COLONY_BATCH_SIZE: '10',
      COLONY_BLOCK_MS: '100',
      COLONY_DEST: `file://${out}/lib`,
    };
    const manifests = [
      ...Object.values(fixtures).map((f) => `${origin.url}/hls/${f.manifest}`),
      `${origin.url}/synthetic/c0/master.m3u8`,
    ];

    // Act
    const run = await runColony(['transfer', ...manifests, '--json', '--quiet'], env);

    // Assess: every class complete, every fixture byte-identical.
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as Report;
    assert.equal(report.classes.length, manifests.length);
    for (const c of report.classes) {
      assert.equal(c.status, 'transferred', JSON.stringify(c));
      assert.equal(c.copied, c.files, JSON.stringify(c));
    }
    for (const f of Object.values(fixtures)) {
      for (const file of f.files)
        assert.ok(
          (await readFile(join(out, 'lib', 'hls', file))).equals(
            await readFile(join(HLS_ROOT, file)),
          ),
          file,
        );
    }
    // The jobs went to every shard, and the shards sit on every master.
    const keys = new Keys(prefix, 6);
    const owners = new Set<number>();
    for (const key of keys.allShards('jobs')) {
      assert.ok((await redis.xlen(key)) > 0, `${key} got no jobs`);
      owners.add((await cluster.masterOf(key)).port);
    }
    assert.equal(owners.size, 3, 'shards spread over the 3 masters');

    // doctor reports the layout: 3 masters, a replica each, 2 shards of jobs and results each.
    const doctor = await runColony(['doctor', '--json'], env);
    const layout = JSON.parse(doctor.stdout) as {
      redis: { cluster: boolean; masters: { replicas: string[]; shards: string[] }[] };
      findings: { level: string; check: string }[];
    };
    assert.equal(layout.redis.cluster, true);
    assert.equal(layout.redis.masters.length, 3);
    for (const m of layout.redis.masters) {
      assert.equal(m.replicas.length, 1);
      assert.equal(m.shards.length, 4, JSON.stringify(m));
    }
    assert.ok(
      layout.findings.filter((f) => f.check === 'cluster').every((f) => f.level === 'ok'),
      doctor.stdout,
    );

    // report over every shard of results and outcomes.
    const rep = await runColony(['report', '--format', 'json'], env);
    assert.equal(rep.code, 0, rep.stderr);
    assert.equal(
      (JSON.parse(rep.stdout) as { overall: { transferred: number } }).overall.transferred,
      manifests.length,
    );

    // reconcile: clean; a deleted file is found and repaired by a running service.
    assert.equal((await runColony(['reconcile'], env)).code, 0);
    const victim = 'synthetic/c0/v1/s7.ts';
    await unlink(join(out, 'lib', victim));
    const serve = spawnColony(['serve'], env);
    children.push(serve);
    const served = collect(serve, 120_000);
    const repaired = await runColony(['reconcile', '--repair', '--wait', '60'], env);
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    assert.ok(
      (await readFile(join(out, 'lib', victim))).equals(
        segmentBytes('c0/v1/s7.ts', SYNTHETIC.segmentBytes),
      ),
    );
    serve.kill('SIGTERM');
    assert.equal((await served).code, 0);

    // trim --archive over every shard; replay still gives every entry, from the archive.
    const before = await runColony(['replay', '--stream', 'jobs', '--no-archive'], env);
    const trim = await runColony(['trim', '--archive', '--json'], env);
    assert.equal(trim.code, 0, trim.stderr);
    const t = JSON.parse(trim.stdout) as { shards: { key: string; trimmed: number }[] };
    for (const key of keys.allShards('jobs'))
      assert.ok(t.shards.find((s) => s.key === key)!.trimmed > 0, `${key} trimmed`);
    const afterTrim = await runColony(['replay', '--stream', 'jobs'], env);
    const ids = (s: string) =>
      s
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id)
        .sort();
    assert.deepEqual(ids(afterTrim.stdout), ids(before.stdout));
    assert.equal((await runColony(['reconcile'], env)).code, 0, 'reconcile through the archive');
  });

  test('a shard moved to another master (a reshard): its readers follow MOVED and go on', async () => {
    // Prepare: a service transfers a first class.
    const out = await tempDir();
    const prefix = uniquePrefix('mv');
    const keys = new Keys(prefix, 3);
    const env = {
      REDIS_URL: cluster.url,
      COLONY_PREFIX: prefix,
      COLONY_SHARDS: '3',
      COLONY_BATCH_SIZE: '10',
      COLONY_BLOCK_MS: '100',
      COLONY_DEST: `file://${out}/lib`,
    };
    const serve = spawnColony(['serve'], env);
    children.push(serve);
    const served = collect(serve, 120_000);
    const catalog = async (c: number) => {
      const file = join(out, `catalog-${c}.ndjson`);
      await writeFile(
        file,
        JSON.stringify({
          classId: `mv-${c}`,
          manifestUrl: `${origin.url}/synthetic/c${c}/master.m3u8`,
        }),
      );
      const scan = await runColony(['scan', '--catalog', file], env);
      assert.equal(scan.code, 0, scan.stdout + scan.stderr);
    };
    const transferred = (c: number) =>
      waitFor(
        async () => ((await redis.hget(keys.classMeta(`mv-${c}`), 'published')) ? true : undefined),
        60_000,
        `mv-${c} transferred`,
      );
    await catalog(1);
    await transferred(1);

    // Act: move the slot of jobs shard 1 (and of results and dead shard 1: one tag) elsewhere.
    const key = keys.stream('jobs', 1);
    const slot = keySlot(key);
    const nodes = await cluster.nodes();
    const source = await cluster.masterOf(key);
    const target = nodes.find(
      (n) => n.role === 'master' && n.alive && n.id !== source.id && n.slots.length > 0,
    )!;
    const src = cluster.connect(source.port);
    const dst = cluster.connect(target.port);
    try {
      await dst.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id);
      await src.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
      for (;;) {
        const moving = (await src.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
        if (moving.length === 0) break;
        await src.call('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', ...moving);
      }
      for (const n of nodes.filter((x) => x.role === 'master' && x.alive)) {
        const c = cluster.connect(n.port);
        await c.call('CLUSTER', 'SETSLOT', slot, 'NODE', target.id).finally(() => c.disconnect());
      }
    } finally {
      src.disconnect();
      dst.disconnect();
    }
    await catalog(2);

    // Assess: the second class, whose batches go to every shard, is transferred too.
    await transferred(2);
    assert.equal((await cluster.masterOf(key)).port, target.port);
    assert.ok((await redis.xlen(key)) > 0);
    serve.kill('SIGTERM');
    assert.equal((await served).code, 0);
    await cluster.waitHealthy();
  });

  test('a master killed during a transfer: every file present, counts exact', async () => {
    // Prepare: a library big enough to be half way when the master dies.
    const out = await tempDir();
    const prefix = uniquePrefix('fo');
    const keys = new Keys(prefix, 6);
    const env = {
      REDIS_URL: cluster.url,
      COLONY_PREFIX: prefix,
      COLONY_SHARDS: '6',
      COLONY_BATCH_SIZE: '20',
      COLONY_CONCURRENCY: '16',
      COLONY_BLOCK_MS: '200',
      COLONY_VISIBILITY_TIMEOUT_MS: '5000',
    };
    const manifests = Array.from(
      { length: SYNTHETIC.classes },
      (_, c) => `${origin.url}/synthetic/c${c}/master.m3u8`,
    );
    const perClass = 1 + SYNTHETIC.variants * (1 + SYNTHETIC.segmentsPerVariant);
    const transfer = spawnColony(
      ['transfer', ...manifests, '--dest', `file://${out}/lib`, '--json', '--quiet'],
      env,
    );
    children.push(transfer);
    const done = collect(transfer, 150_000);
    const victim = await cluster.masterOf(keys.stream('jobs', 1));

    // Act: once copies are under way, SIGKILL the master of a jobs shard.
    await waitFor(
      async () => {
        let total = 0;
        for (const key of keys.allShards('results')) total += await redis.xlen(key);
        return total >= 10 ? true : undefined;
      },
      60_000,
      'copies under way',
    );
    assert.equal(transfer.exitCode, null, 'the transfer is still running when the master dies');
    await cluster.kill(victim.port);
    const result = await done;

    // Assess
    const state = await cluster.nodes().catch((e: unknown) => String(e));
    assert.equal(result.code, 0, `${result.stderr}\n${JSON.stringify(state)}`);
    const report = JSON.parse(result.stdout) as Report;
    for (const c of report.classes) {
      assert.equal(c.status, 'transferred', JSON.stringify(c));
      assert.equal(c.files, perClass);
      assert.equal(c.copied + c.skipped, perClass, JSON.stringify(c));
      assert.equal(c.failed, 0);
    }
    for (let c = 0; c < SYNTHETIC.classes; c++)
      for (let v = 0; v < SYNTHETIC.variants; v++)
        for (let s = 0; s < SYNTHETIC.segmentsPerVariant; s++)
          assert.equal(
            (await stat(join(out, 'lib', `synthetic/c${c}/v${v}/s${s}.ts`))).size,
            SYNTHETIC.segmentBytes,
          );
    const promoted = await cluster.masterOf(keys.stream('jobs', 1));
    assert.notEqual(promoted.port, victim.port, 'a replica took over the shard');
    await cluster.waitHealthy();
  });

  test('WAIT closes the replication gap: counts a replica lacks are not acked, and survive a failover', async (t) => {
    // Prepare: a class whose state sits on a master with a live replica, and whose results
    // shard sits on another master.
    const prefix = uniquePrefix('gap');
    const keys = new Keys(prefix, 3);
    const nodes = await cluster.nodes();
    const replicaOf = (id: string) => nodes.find((n) => n.masterId === id && n.alive);
    let classId = '';
    let classMaster = nodes[0]!;
    for (let i = 0; ; i++) {
      classId = `gap-${i}`;
      classMaster = await cluster.masterOf(keys.classMeta(classId));
      const resultsMaster = await cluster.masterOf(
        keys.stream('results', keys.shardOf('results', classId, 0)),
      );
      if (replicaOf(classMaster.id) && resultsMaster.port !== classMaster.port) break;
    }
    const replica = replicaOf(classMaster.id)!;
    const store = new ClassStore(redis, keys);
    await store.request({
      classId,
      manifestUrl: 'http://127.0.0.1:9/gap/master.m3u8',
      dest: 'file:///tmp/colony-gap-unused',
      eventId: 'gap-event',
      traceparent: '',
    });
    await store.registerCrawl(classId, 5);
    const files = [0, 1, 2, 3, 4].map((ordinal) => ({
      ordinal,
      key: `gap/s${ordinal}.ts`,
      status: 'copied' as const,
      bytes: 100,
      attempts: 1,
      md5: '0123456789abcdef0123456789abcdef',
    }));
    // The replica of the class's master loses its replication link and cannot get it back (a
    // wrong masterauth), while it stays a healthy cluster node that can be promoted.
    const replicaConn = cluster.connect(replica.port);
    t.after(() => replicaConn.disconnect());
    await replicaConn.call('CONFIG', 'SET', 'masterauth', 'not-the-password');
    await replicaConn.call('CLIENT', 'KILL', 'TYPE', 'master');
    await waitFor(
      async () =>
        /master_link_status:down/.test(await replicaConn.info('replication')) ? true : undefined,
      10_000,
      'replication link down',
    );
    await new Publisher(redis, keys).publish('results', [
      { type: 'file-results', v: SCHEMA_VERSION, classId, run: 1, results: files },
    ]);
    const handedBack: string[] = [];
    const logger: Logger = createLogger('warn', 'colony', {
      format: 'json',
      destination: {
        write: (line: string) => {
          const l = JSON.parse(line) as { msg: string; err?: string };
          if (l.msg === 'batch handed back') handedBack.push(String(l.err));
        },
      },
    });
    const host = await startStages({
      config: {
        ...loadConfig({ REDIS_URL: cluster.url }),
        prefix,
        shards: 3,
        blockMs: 100,
        visibilityTimeoutMs: 3000,
        replicaWaitMs: 500,
      },
      stages: ['aggregator'],
      logger,
    });
    t.after(() => host.stop());

    // Act: the aggregator counts the files on the master; then the master dies, and the
    // replica that never got the counts takes over.
    const master = cluster.connect(classMaster.port);
    await waitFor(
      async () =>
        (await master.hget(keys.classMeta(classId), 'done')) === '5' && handedBack.length > 0
          ? true
          : undefined,
      20_000,
      'the counts on the master, not acked',
    ).catch(async (err: Error) => {
      const results = keys.stream('results', keys.shardOf('results', classId, 0));
      throw new Error(
        `${err.message}: ${JSON.stringify({
          meta: await master.hgetall(keys.classMeta(classId)),
          results: await redis.xlen(results),
          pending: await redis.xpending(results, 'aggregator').catch(String),
          handedBack,
        })}`,
      );
    });
    master.disconnect();
    await cluster.kill(classMaster.port);
    await cluster.waitHealthy();

    // Assess: the results entry was never acked, so it is counted again on the new master.
    const state = await waitFor(
      async () => {
        const s = await store.get(classId);
        return s?.status === 'transferred' ? s : undefined;
      },
      30_000,
      `class ${classId} transferred after the failover`,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(await store.get(classId))}`);
    });
    assert.equal(state.done, 5);
    assert.equal(state.copied, 5);
    assert.equal(state.failed, 0);
    assert.match(handedBack[0]!, /replicas confirmed a write/);
  });
});
