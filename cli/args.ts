import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
import { UsageError } from '../schemas/errors.js';

/** node:util parseArgs, with its errors turned into one-line usage errors. */
export function parseArgv<O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  command: string,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message
      .split('\n')[0]!
      .replace(/\. To specify a positional.*$/, '');
    throw new UsageError(`${message} (see: colony ${command} --help)`);
  }
}
