import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, Option } from 'commander';
import { loadConfig, type Config } from '../schemas/config.js';
import { UsageError } from '../schemas/errors.js';

/**
 * Help text written as paragraphs: lines of a paragraph are joined so that commander wraps
 * them to the terminal's width; blank lines and indented lines (examples, lists) stay as they
 * are.
 */
export function prose(text: string): string {
  return text
    .trim()
    .split(/\n\s*\n/)
    .map((p) => (/^\s/m.test(p) ? p : p.replace(/\s*\n\s*/g, ' ')))
    .join('\n\n');
}

/** `-q, --quiet` and `-v, --verbose`, with what each means for this command. */
export function verbosity(cmd: Command, quiet: string, verbose: string): Command {
  return cmd
    .addOption(new Option('-q, --quiet', quiet).conflicts('verbose'))
    .addOption(new Option('-v, --verbose', verbose));
}

/** `--json`, saying what the document is. */
export function jsonOption(cmd: Command, what: string): Command {
  return cmd.option('--json', `print ${what} on stdout`);
}

/** Options of every command as commander parsed them. */
export type RawOptions = Record<string, unknown>;

/**
 * Runs a command's work with the environment's configuration, loaded only once the arguments
 * parsed (so that `--help` works with a bad environment); the work's exit status becomes the
 * process's.
 */
export async function runWith(work: (config: Config) => Promise<number>): Promise<void> {
  process.exitCode = await work(loadConfig());
}

/** Refuses positional arguments for a command that takes none. */
export function noArguments(cmd: Command): Command {
  return cmd.allowExcessArguments(false);
}

/**
 * A destination as people type it: an s3:// or file:// URL stays as it is, anything without a
 * scheme is a path (`/abs/dir`, `./out`, `out`) and becomes the file:// URL of its absolute
 * form. Other schemes pass through for the schema to refuse.
 */
export function destUrl(value: string): string;
export function destUrl(value: string | undefined): string | undefined;
export function destUrl(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return value;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return value;
  return pathToFileURL(resolve(value)).href;
}

/** The destination of a command that needs one: the option, else COLONY_DEST, else an error. */
export function requiredDest(option: string | undefined, config: Config, command: string): string {
  const dest = destUrl(option) ?? config.dest;
  if (!dest)
    throw new UsageError(
      `--dest is required: an s3://bucket/prefix, a file:///abs/dir URL or a path, or set COLONY_DEST (see: colony ${command} --help)`,
    );
  return dest;
}

/** Words for counts: `1 file`, `2 files`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
