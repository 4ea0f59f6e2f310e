import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI: `npm test` compiles to dist/ first, so tests run the real `colony` bin. */
export const COLONY_BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export type CliResult = {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
};

/** Starts `colony <args>` with the given environment added to this one's. */
export function spawnColony(
  args: string[],
  env: Record<string, string | undefined> = {},
  cwd?: string,
): ChildProcess {
  return spawn(process.execPath, [COLONY_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
  });
}

/** Runs `colony <args>` to the end (killed after `timeoutMs`) and collects its output. */
export async function runColony(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 120_000,
  cwd?: string,
): Promise<CliResult> {
  const child = spawnColony(args, env, cwd);
  return collect(child, timeoutMs);
}

export function collect(child: ChildProcess, timeoutMs = 120_000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
