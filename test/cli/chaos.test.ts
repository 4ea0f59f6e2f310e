import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startLocalRedis } from '../../cli/local-redis.js';
import { segmentBytes, startSampleOrigin } from '../../cli/sample-origin.js';
import { classIdFor, requestClass } from '../../consumers/requests/ingest.js';
import { isFinished, type ClassState } from '../../schemas/class-state.js';
import { ClassStore } from '../../streams/class-store.js';
import { Keys } from '../../streams/keys.js';
import { Publisher } from '../../streams/publisher.js';
import { connectRedis } from '../../streams/redis.js';
import { spawnColony } from '../helpers/cli.js';

type Proc = { stages: string; child: ChildProcess; log: string[]; startedAt: number };

/**
 * The guarantees under fire: a few thousand files through stages running as separate
 * `colony serve` processes (two transfer processes), while random stage processes are killed
 * with SIGKILL (and some stopped with SIGTERM) and restarted, and Redis itself (its own server,
 * AOF with appendfsync always) is crashed and restarted once. At the end every file must be at
 * the destination byte for byte, every class transferred, and every count exact.
 */
test(
  'chaos: kill -9 of random stages and a Redis crash lose no file and count none twice',
  { timeout: 240_000 },
  async (t) => {
    // Prepare
    const redis = await startLocalRedis({ aof: true });
    t.after(() => redis.stop());
    const lib = { classes: 3, variants: 4, segmentsPerVariant: 250, segmentBytes: 3000 };
    const origin = await startSampleOrigin({ synthetic: lib, segmentDelayMs: 25 });
    t.after(() => origin.close());
    const out = await mkdtemp(join(tmpdir(), 'colony-chaos-'));
    t.after(() => rm(out, { recursive: true, force: true }));
    const dest = `file://${out}`;
    const env = {
      REDIS_URL: redis.url,
      COLONY_PREFIX: 'chaos',
      COLONY_DEST: dest,
      COLONY_VISIBILITY_TIMEOUT_MS: '3000',
      COLONY_BLOCK_MS: '200',
      COLONY_BATCH_SIZE: '20',
      COLONY_CONCURRENCY: '8',
      COLONY_MAX_DELIVERIES: '50',
      COLONY_LOG_LEVEL: 'warn',
    };
    const procs: Proc[] = [];
    const spawnStage = (stages: string): Proc => {
      const child = spawnColony(['serve', '--stages', stages], env);
      const p: Proc = { stages, child, log: [], startedAt: Date.now() };
      child.stderr?.on('data', (d: Buffer) => p.log.push(d.toString()));
      return p;
    };
    for (const stages of ['crawler', 'transfer', 'transfer', 'aggregator'])
      procs.push(spawnStage(stages));
    t.after(async () => {
      for (const p of procs) p.child.kill('SIGKILL');
    });

    const conn = await connectRedis(redis.url, 'chaos-test');
    t.after(() => conn.disconnect());
    const keys = new Keys('chaos');
    const classes = new ClassStore(conn, keys);
    const ids: string[] = [];
    for (let c = 0; c < lib.classes; c++) {
      const manifestUrl = `${origin.url}/synthetic/c${c}/master.m3u8`;
      ids.push(classIdFor(manifestUrl, dest));
      await requestClass(classes, new Publisher(conn, keys), {
        classId: ids[c]!,
        manifestUrl,
        dest,
      });
    }

    // Act: chaos until every class is finished.
    const started = Date.now();
    let kills = 0;
    let terms = 0;
    let redisCrashes = 0;
    let states: (ClassState | undefined)[] = [];
    const finished = async () => {
      states = await Promise.all(ids.map((id) => classes.get(id).catch(() => undefined)));
      return states.every((s) => s && isFinished(s));
    };
    while (!(await finished())) {
      assert.ok(Date.now() - started < 200_000, 'the transfer finishes under chaos');
      await new Promise((r) => setTimeout(r, 400 + Math.random() * 800));
      const done = states.reduce((n, s) => n + (s?.done ?? 0), 0);
      if (redisCrashes === 0 && done > 1000) {
        await redis.crash();
        redisCrashes++;
        await new Promise((r) => setTimeout(r, 500));
        await redis.restart();
        continue;
      }
      const i = Math.floor(Math.random() * procs.length);
      const victim = procs[i]!;
      // SIGTERM only to a process that has had time to start: before its handler exists (while
      // Node is still loading modules), any process dies of the signal, holding nothing.
      const graceful = Date.now() - victim.startedAt > 3000 && Math.random() < 0.3;
      const exited = new Promise<number | null>((r) =>
        victim.child.once('exit', (code) => r(code)),
      );
      victim.child.kill(graceful ? 'SIGTERM' : 'SIGKILL');
      const code = await Promise.race([
        exited,
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000)),
      ]);
      assert.notEqual(
        code,
        'hung',
        `${victim.stages} exits within 15 s of ${graceful ? 'SIGTERM' : 'SIGKILL'}`,
      );
      if (graceful) {
        terms++;
        assert.equal(code, 0, `${victim.stages} exits cleanly on SIGTERM: ${victim.log.join('')}`);
      } else {
        kills++;
      }
      procs[i] = spawnStage(victim.stages);
    }
    const seconds = (Date.now() - started) / 1000;

    // Assess
    const perClass = 1 + lib.variants * (1 + lib.segmentsPerVariant);
    for (const s of states as ClassState[]) {
      assert.equal(s.status, 'transferred', `${s.classId}: ${s.failed} failed`);
      assert.equal(s.total, perClass);
      assert.equal(s.copied + s.skipped, perClass, 'every file counted exactly once');
      assert.equal(s.done, perClass);
    }
    for (let c = 0; c < lib.classes; c++) {
      for (let v = 0; v < lib.variants; v++) {
        for (let s = 0; s < lib.segmentsPerVariant; s++) {
          const rel = `c${c}/v${v}/s${s}.ts`;
          const got = await readFile(join(out, 'synthetic', rel)).catch(() => undefined);
          assert.ok(
            got?.equals(segmentBytes(rel, lib.segmentBytes)),
            `${rel} at the destination, intact`,
          );
        }
      }
    }
    assert.ok(
      kills + terms >= 3,
      `at least 3 stage processes were stopped (${kills} kills, ${terms} SIGTERMs)`,
    );
    assert.equal(redisCrashes, 1);
    t.diagnostic(
      `chaos survived: ${lib.classes * perClass} files, ${kills} SIGKILLs, ${terms} SIGTERMs, ${redisCrashes} Redis crash, ${seconds.toFixed(1)} s`,
    );
  },
);
