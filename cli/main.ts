#!/usr/bin/env node
import { loadConfig } from '../schemas/config.js';
import { ColonyError, ErrorCode, describeError } from '../schemas/errors.js';
import { demoCommand, demoHelp } from './commands/demo.js';
import { dlqCommand, dlqHelp } from './commands/dlq.js';
import { reconcileCommand, reconcileHelp } from './commands/reconcile.js';
import { replayCommand, replayHelp } from './commands/replay.js';
import { reportCommand, reportHelp } from './commands/report.js';
import { scanCommand, scanHelp } from './commands/scan.js';
import { serveCommand, serveHelp } from './commands/serve.js';
import { signCommand, signHelp } from './commands/sign.js';
import { statusCommand, statusHelp } from './commands/status.js';
import { transferCommand, transferHelp } from './commands/transfer.js';
import { trimCommand, trimHelp } from './commands/trim.js';
import { silenceSdkNodeVersionWarning } from './quiet-warnings.js';
import { startTelemetry, type StopTelemetry } from './telemetry.js';

silenceSdkNodeVersionWarning();

const help = `colony: copies whole HLS video libraries between clouds, and proves no file was left behind.

Usage: colony <command> [options]

Commands:
  transfer <manifestUrl>... --dest <url> [--json]   copy classes now, every stage in this process
  serve [--stages a,b] [--port N]                   run stages as a long-running service
  status [classId]                                  classes, progress, group lag and pending
  demo                                              copy the bundled sample library on loopback
  sign --body <json>                                signature header for a webhook request
  dlq list | retry | purge                          inspect and requeue dead letters
  scan --catalog <file|url> [--dest <url>]          enqueue the classes of a catalog
  replay --stream <name> [--from <pos>] [--group g] print the audit log, or attach a group at an ID
  reconcile [classId...] [--repair]                 check every file against its destination
  report [--format md|json|csv] [--follow]          transfer report from a reporting group
  trim [--stream <name>] [--archive] [--dry-run]    trim what every group acked; show memory saved

Run colony <command> --help for a command's options. Configuration comes from the environment
(REDIS_URL, COLONY_PREFIX, COLONY_DEST, COLONY_CONCURRENCY, ...; see README.md).`;

type Command = {
  run: (args: string[], config: ReturnType<typeof loadConfig>) => Promise<number>;
  help: string;
};
const commands: Record<string, Command> = {
  transfer: { run: transferCommand, help: transferHelp },
  serve: { run: serveCommand, help: serveHelp },
  status: { run: statusCommand, help: statusHelp },
  demo: { run: demoCommand, help: demoHelp },
  sign: { run: signCommand, help: signHelp },
  dlq: { run: dlqCommand, help: dlqHelp },
  scan: { run: scanCommand, help: scanHelp },
  replay: { run: replayCommand, help: replayHelp },
  reconcile: { run: reconcileCommand, help: reconcileHelp },
  report: { run: reportCommand, help: reportHelp },
  trim: { run: trimCommand, help: trimHelp },
};

let stopTelemetry: StopTelemetry = async () => {};

async function main(argv: string[]): Promise<number> {
  stopTelemetry = await startTelemetry();
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help + '\n');
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(
      `colony: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(commands).join(', ')}\n`,
    );
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  return command.run(args, loadConfig());
}

main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // User mistakes and unreachable services are one line; anything else is a bug worth a trace.
      if (err instanceof ColonyError) {
        process.stderr.write(`colony: ${describeError(err)}\n`);
        process.exitCode = err.code === ErrorCode.Usage || err.code === ErrorCode.Config ? 2 : 1;
      } else {
        process.stderr.write(
          `colony: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
        );
        process.exitCode = 1;
      }
    },
  )
  .finally(() => stopTelemetry());
