import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../../cli/local-redis.js';
import { keySlot } from '../../streams/key-slot.js';

const run = promisify(execFile);

export type ClusterNode = {
  port: number;
  address: string;
  id: string;
  role: 'master' | 'replica';
  /** The master's id, for a replica. */
  masterId?: string;
  /** Slot ranges [from, to] of a master. */
  slots: [number, number][];
  alive: boolean;
};

export type LocalCluster = {
  /** REDIS_URL naming every node as a seed. */
  url: string;
  dir: string;
  /** Each node as CLUSTER NODES says now (asked of a live node). */
  nodes(): Promise<ClusterNode[]>;
  /** The master serving a key now. */
  masterOf(key: string): Promise<ClusterNode>;
  /** SIGKILLs one node's process, as a crash would. */
  kill(port: number): Promise<void>;
  /** SIGSTOPs / SIGCONTs a node's process (a node that stops answering, then resumes). */
  pause(port: number): void;
  resume(port: number): void;
  /** Waits until every slot is served by a live master again (after a failover). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** A plain connection to one node. */
  connect(port: number): Redis;
  /** Stops every node by PID and removes the folder; safe to call twice. */
  stop(): Promise<void>;
};

export const hasRedisServer = !spawnSync('redis-server', ['--version']).error;

/**
 * Starts a Redis Cluster from the machine's redis-server: `masters` masters with one replica
 * each, on free loopback ports in a temp folder, created with `redis-cli --cluster create
 * --cluster-replicas 1`. A short cluster-node-timeout makes a failover take a second or two.
 * Every process is stopped by PID in stop(), which tests register with t.after.
 */
export async function startLocalCluster(
  o: { masters?: number; nodeTimeoutMs?: number } = {},
): Promise<LocalCluster> {
  const masters = o.masters ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'colony-cluster-'));
  const children = new Map<number, ChildProcess>();
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(
      [...children.values()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await exited;
      }),
    );
    children.clear();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * 2; i++) {
      const port = await freePort();
      ports.push(port);
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--dbfilename',
          `dump-${port}.rdb`,
          '--save',
          '',
          '--appendonly',
          'no',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          String(o.nodeTimeoutMs ?? 1000),
          '--daemonize',
          'no',
        ],
        { stdio: 'ignore' },
      );
      children.set(port, child);
    }
    for (const port of ports) await waitPing(port);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
  } catch (err) {
    await stop();
    throw err;
  }

  const connect = (port: number) => {
    const r = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    r.on('error', () => {});
    return r;
  };
  const alivePorts = () =>
    ports.filter((p) => {
      const c = children.get(p);
      return c && c.exitCode === null && c.signalCode === null;
    });
  const nodes = async (): Promise<ClusterNode[]> => {
    for (const port of alivePorts()) {
      const r = connect(port);
      try {
        const text = String(await r.call('CLUSTER', 'NODES'));
        return parseNodes(text);
      } catch {
        // a paused or dying node: ask another
      } finally {
        r.disconnect();
      }
    }
    throw new Error('no cluster node answers');
  };
  const waitHealthy = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        const all = await nodes();
        const live = all.filter((n) => n.role === 'master' && n.alive);
        let covered = 0;
        for (const m of live) for (const [a, b] of m.slots) covered += b - a + 1;
        const states = await Promise.all(
          alivePorts().map(async (p) => {
            const r = connect(p);
            try {
              return /cluster_state:ok/.test(String(await r.call('CLUSTER', 'INFO')));
            } catch {
              return false;
            } finally {
              r.disconnect();
            }
          }),
        );
        last = `covered ${covered}, ok ${states.filter(Boolean).length}/${states.length}`;
        if (covered === 16384 && states.every(Boolean)) return;
      } catch (err) {
        last = String(err);
      }
      if (Date.now() > deadline)
        throw new Error(`cluster not healthy after ${timeoutMs} ms: ${last}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await waitHealthy();
  // Every node lists a replica for every slot range, and every replica is in sync, before a
  // test starts writing.
  const deadline = Date.now() + 30_000;
  for (const port of ports) {
    const r = connect(port);
    try {
      for (;;) {
        const slots = (await r.call('CLUSTER', 'SLOTS')) as unknown[][];
        const info = String(await r.info('replication'));
        const synced = /role:master/.test(info) || /master_link_status:up/.test(info);
        if (synced && slots.length === masters && slots.every((range) => range.length === 4)) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${port} not in sync: ${info}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    } finally {
      r.disconnect();
    }
  }

  return {
    url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','),
    dir,
    nodes,
    async masterOf(key) {
      const slot = keySlot(key);
      const m = (await nodes()).find(
        (n) => n.role === 'master' && n.alive && n.slots.some(([a, b]) => slot >= a && slot <= b),
      );
      if (!m) throw new Error(`no live master serves slot ${slot}`);
      return m;
    },
    async kill(port) {
      const child = children.get(port);
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
    pause: (port) => void children.get(port)?.kill('SIGSTOP'),
    resume: (port) => void children.get(port)?.kill('SIGCONT'),
    waitHealthy,
    connect,
    stop,
  };
}

async function waitPing(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on('error', () => {});
    try {
      await r.connect();
      await r.ping();
      return;
    } catch {
      await new Promise((res) => setTimeout(res, 50));
    } finally {
      r.disconnect();
    }
  }
  throw new Error(`redis-server on ${port} did not start`);
}

function parseNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, master, , , , link, ...slots] = line.trim().split(' ');
      const address = addr!.split('@')[0]!;
      const f = flags!.split(',');
      return {
        id: id!,
        address,
        port: Number(address.split(':')[1]),
        role: f.includes('master') ? 'master' : 'replica',
        ...(master && master !== '-' ? { masterId: master } : {}),
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [a, b] = s.split('-');
            return [Number(a), Number(b ?? a)] as [number, number];
          }),
        alive: !f.includes('fail') && !f.includes('fail?') && link === 'connected',
      };
    });
}
