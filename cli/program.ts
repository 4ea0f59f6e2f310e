import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, type Help } from 'commander';
import { prose } from './command-kit.js';
import { demoCommand } from './commands/demo.js';
import { doctorCommand } from './commands/doctor.js';
import { dlqCommand } from './commands/dlq.js';
import { reconcileCommand } from './commands/reconcile.js';
import { replayCommand } from './commands/replay.js';
import { reportCommand } from './commands/report.js';
import { scanCommand } from './commands/scan.js';
import { serveCommand } from './commands/serve.js';
import { signCommand } from './commands/sign.js';
import { statusCommand } from './commands/status.js';
import { transferCommand } from './commands/transfer.js';
import { trimCommand } from './commands/trim.js';
import { packageRoot } from './package-root.js';

/** colony's version, from its package.json. */
export function colonyVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * The whole command line: every command with its options and help. Commander errors (an
 * unknown option, a missing value, an unknown command) are one line naming the problem and the
 * command's --help; they throw a CommanderError instead of exiting, for main to map to an exit
 * status.
 */
export function buildProgram(): Command {
  const program = new Command('colony')
    .usage('<command> [options]')
    .description(
      prose(`
colony: copies whole HLS video libraries between clouds, and proves no file was left behind.`),
    )
    .version(colonyVersion(), '-V, --version', 'print the version')
    .helpCommand('help [command]', 'help for a command')
    .addHelpText(
      'after',
      `
Run colony <command> --help for a command's options. Configuration comes from
the environment (REDIS_URL, COLONY_PREFIX, COLONY_DEST, COLONY_CONCURRENCY, ...;
see README.md); options override it.

Exit status: 0 on success, 1 when the work failed (a class failed, a file is
missing, Redis cannot be reached), 2 on bad usage or configuration (no command
prints this help on stderr and exits 2), 130 when interrupted.`,
    );
  for (const cmd of [
    transferCommand(),
    serveCommand(),
    statusCommand(),
    demoCommand(),
    signCommand(),
    dlqCommand(),
    scanCommand(),
    replayCommand(),
    reconcileCommand(),
    reportCommand(),
    trimCommand(),
    doctorCommand(),
  ])
    program.addCommand(cmd);
  configure(program, 'colony');
  return program;
}

/** What each command is listed as in its parent's help: its usage line, options left out. */
function subcommandTerm(cmd: Command): string {
  return `${cmd.name()} ${cmd.usage().replace(/\s*\[options\]$/, '')}`.trim();
}

function configure(cmd: Command, path: string): void {
  cmd
    .exitOverride()
    .helpOption('-h, --help', 'print this help')
    .configureHelp({ subcommandTerm, sortSubcommands: false } satisfies Partial<Help>)
    .configureOutput({
      outputError: (message, write) => write(errorLine(message, path)),
    });
  for (const sub of cmd.commands) configure(sub, `${path} ${sub.name()}`);
}

/** commander's `error: unknown option '--x'\n(Did you mean --y?)` as one line of colony's. */
export function errorLine(message: string, path: string): string {
  const text = message
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  return `${path.split(' ')[0]}: ${text} (see: ${path} --help)\n`;
}
