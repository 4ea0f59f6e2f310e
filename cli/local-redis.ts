import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeRedis } from '../streams/redis.js';

export type LocalRedis = {
  url: string;
  /** Kills the server with SIGKILL, as a crash would: what it had not written to disk is lost. */
  crash(): Promise<void>;
  /** Starts it again on the same port and folder: with AOF on, it reloads what it had. */
  restart(): Promise<void>;
  stop(): Promise<void>;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throwaway redis-server on a free loopback port in a temp folder, for the demo and
 * for tests that restart Redis or need AOF. Stopped by PID; its folder is removed.
 */
export async function startLocalRedis(
  o: { aof?: boolean; args?: string[] } = {},
): Promise<LocalRedis> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error(
      'no Redis answers at REDIS_URL and redis-server is not installed (apt-get install -y redis-server)',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'colony-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--daemonize',
    'no',
  ];
  args.push(
    ...(o.aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(o.args ?? []),
  );
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      try {
        await probeRedis(url, 500);
        return;
      } catch (err) {
        if (i > 100) {
          child.kill('SIGKILL');
          throw err;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const kill = async (signal: NodeJS.Signals) => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill(signal);
      await exited;
    }
  };
  await start();
  return {
    url,
    crash: () => kill('SIGKILL'),
    restart: start,
    stop: async () => {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
