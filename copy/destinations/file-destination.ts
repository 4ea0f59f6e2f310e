import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import {
  ColonyError,
  ConfigError,
  DestinationError,
  SizeMismatchError,
} from '../../schemas/errors.js';
import { joinDestKey } from './dest-key.js';
import { makeDirs } from './make-dirs.js';
import type {
  Destination,
  ListedObject,
  ListOptions,
  ObjectInfo,
  PutOptions,
  WriteReceipt,
} from './destination.js';

export type FileDestinationOptions = {
  /** Absolute directory the keys are written under. */
  root: string;
  /** The URL it was opened with; derived from `root` when absent. */
  url?: string;
};

// Errors that another attempt will not fix: a retry would only burn the retry budget.
const PERMANENT_FS_CODES = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'EISDIR',
  'ENOTDIR',
  'ENAMETOOLONG',
  'EEXIST',
]);

/**
 * Writes copies into a local directory (`file:///abs/dir`). Each put streams into a hidden
 * temp file next to the target, verifies the byte count, fsyncs and renames into place, so a
 * reader sees either the old file or the complete new one, never a partial one.
 */
export class FileDestination implements Destination {
  readonly url: string;
  readonly root: string;

  constructor(options: FileDestinationOptions) {
    if (!path.isAbsolute(options.root)) {
      throw new ConfigError(
        `file destination: expected an absolute directory, got "${options.root}"`,
      );
    }
    this.root = path.resolve(options.root);
    this.url = options.url ?? pathToFileURL(this.root).href;
  }

  /** Streams `body` to `key`, hashing and counting as it goes; see {@link Destination.put}. */
  async put(key: string, body: Readable, options: PutOptions): Promise<WriteReceipt> {
    // A body that fails while we are still creating directories must not crash the process
    // with an unhandled 'error'; the failure resurfaces when we iterate the stream. The
    // listener stays after a failure: destroying some bodies (undici's) emits one more error.
    const ignore = (): void => {};
    body.on('error', ignore);
    let handle: FileHandle | undefined;
    let temp: string | undefined;
    try {
      const target = this.pathFor(key);
      const dir = path.dirname(target);
      await fsStep('create directory', dir, () => makeDirs(dir));
      temp = path.join(dir, `.${path.basename(target)}.${randomBytes(8).toString('hex')}.tmp`);
      const tempPath = temp;
      const file = await fsStep('create', tempPath, () => open(tempPath, 'wx'));
      handle = file;
      const { bytes, md5 } = await copyInto(file, tempPath, body, options.signal);
      if (options.size !== undefined && bytes !== options.size) {
        throw new SizeMismatchError(options.size, bytes);
      }
      // fsync before rename: otherwise a power loss can leave the new name on an empty file.
      // The directory is not fsynced: a lost rename is a missing file, which reconcile finds.
      await fsStep('sync', tempPath, () => file.sync());
      handle = undefined;
      await fsStep('close', tempPath, () => file.close());
      await fsStep('rename into', target, () => rename(tempPath, target));
      temp = undefined;
      body.off('error', ignore);
      return { bytes, md5 };
    } catch (err) {
      if (!body.destroyed) body.destroy();
      await handle?.close().catch(ignore);
      if (temp !== undefined) await unlink(temp).catch(ignore);
      throw err;
    }
  }

  /** Size of the file at `key`, or undefined when there is none (or it is a directory). */
  async head(key: string): Promise<ObjectInfo | undefined> {
    const target = this.pathFor(key);
    try {
      const info = await stat(target);
      return info.isFile() ? { size: info.size } : undefined;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
      throw toDestinationError('stat', target, err);
    }
  }

  /**
   * Walks the directory that `prefix` names (its part up to the last `/`), keeping the entries
   * whose names start with the rest; see {@link Destination.list}. Temp files of writes in
   * progress are not listed.
   */
  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ListedObject> {
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut < 0 ? '' : prefix.slice(0, cut);
    const namePrefix = prefix.slice(cut + 1);
    const dir = dirKey === '' ? this.root : this.pathFor(dirKey);
    yield* this.walk(dir, dirKey, namePrefix, options.recursive ?? true);
  }

  /** A read stream of the file at `key`, or undefined when there is none. */
  async get(key: string): Promise<Readable | undefined> {
    const target = this.pathFor(key);
    const info = await this.head(key);
    if (!info) return undefined;
    return createReadStream(target);
  }

  /**
   * Removes the file at `key`, if there is one, and the directories below the root that this
   * leaves empty: as on S3, a deleted key leaves no trace.
   */
  async delete(key: string): Promise<void> {
    const target = this.pathFor(key);
    await unlink(target).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw toDestinationError('delete', target, err);
    });
    for (let dir = path.dirname(target); dir.startsWith(this.root + path.sep);) {
      if (
        !(await rmdir(dir).then(
          () => true,
          () => false,
        ))
      )
        break;
      dir = path.dirname(dir);
    }
  }

  async close(): Promise<void> {}

  private async *walk(
    dir: string,
    dirKey: string,
    namePrefix: string,
    recursive: boolean,
  ): AsyncIterable<ListedObject> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
      throw toDestinationError('list', dir, err);
    }
    for (const entry of entries) {
      if (!entry.name.startsWith(namePrefix) || TEMP_FILE.test(entry.name)) continue;
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      const full = path.join(dir, entry.name);
      if (entry.isFile()) {
        const info = await stat(full).catch(() => undefined);
        if (info?.isFile()) yield { key, size: info.size };
      } else if (entry.isDirectory() && recursive) {
        yield* this.walk(full, key, '', true);
      }
    }
  }

  private pathFor(key: string): string {
    return path.join(this.root, ...joinDestKey('', key).split('/'));
  }
}

/** The hidden temp file of a put in progress (see put). */
const TEMP_FILE = /^\..+\.[0-9a-f]{16}\.tmp$/;

/** Copies the body into the open file; fs failures become DestinationErrors, body errors pass. */
async function copyInto(
  file: FileHandle,
  where: string,
  body: Readable,
  signal: AbortSignal | undefined,
): Promise<{ bytes: number; md5: string }> {
  signal?.throwIfAborted();
  const onAbort = (): void => {
    body.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const hash = createHash('md5');
    let bytes = 0;
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      hash.update(buf);
      bytes += buf.length;
      await fsStep('write', where, () => writeAll(file, buf));
    }
    return { bytes, md5: hash.digest('hex') };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** FileHandle.write may write less than asked (a full disk, a signal): loop until done. */
async function writeAll(file: FileHandle, buf: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buf.length) {
    const { bytesWritten } = await file.write(buf, offset, buf.length - offset);
    if (bytesWritten === 0) throw new Error('write made no progress');
    offset += bytesWritten;
  }
}

async function fsStep<T>(op: string, where: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toDestinationError(op, where, err);
  }
}

function toDestinationError(op: string, where: string, err: unknown): ColonyError {
  if (err instanceof ColonyError) return err;
  const code = errnoCode(err);
  return new DestinationError(
    `file destination: ${op} ${where} failed${code ? ` (${code})` : ''}`,
    {
      cause: err,
      retryable: code === undefined || !PERMANENT_FS_CODES.has(code),
    },
  );
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
