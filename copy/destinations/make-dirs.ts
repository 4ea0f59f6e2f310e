import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p` one level at a time. Node's `mkdir(dir, { recursive: true })` never returns where
 * mkdir answers ENOENT although the parent exists (procfs, sysfs: `/proc/nope` spins a core
 * forever); here that answer is an error naming the directory. A path component that is a
 * file fails with ENOTDIR. Both are permanent: another attempt would not fix them.
 */
export async function makeDirs(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (err) {
    if (codeOf(err) === 'EEXIST') return existingDirectory(dir);
    if (codeOf(err) !== 'ENOENT' || path.dirname(dir) === dir) throw err;
  }
  await makeDirs(path.dirname(dir));
  try {
    await mkdir(dir);
  } catch (err) {
    if (codeOf(err) === 'EEXIST') return existingDirectory(dir);
    // The parent exists now, so ENOENT means this file system does not let us create here.
    if (codeOf(err) === 'ENOENT')
      throw errno(
        'EROFS',
        `cannot create directories in ${path.dirname(dir)} (mkdir ${dir}: ENOENT)`,
      );
    throw err;
  }
}

async function existingDirectory(dir: string): Promise<void> {
  if (!(await stat(dir)).isDirectory()) throw errno('ENOTDIR', `${dir} is not a directory`);
}

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
