#!/usr/bin/env node
import { CommanderError } from 'commander';
import { ColonyError, ErrorCode, describeError } from '../schemas/errors.js';
import { buildProgram } from './program.js';
import { silenceSdkNodeVersionWarning } from './quiet-warnings.js';
import { startTelemetry, type StopTelemetry } from './telemetry.js';

silenceSdkNodeVersionWarning();

let stopTelemetry: StopTelemetry = async () => {};

/** Exit status of a commander stop: help or version asked for is 0, anything else bad usage. */
function commanderStatus(err: CommanderError): number {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
  // `colony` or `colony dlq` alone: the help went to stderr, as for any usage error.
  if (err.code === 'commander.help') return err.exitCode === 0 ? 0 : 2;
  return 2;
}

async function main(argv: string[]): Promise<void> {
  stopTelemetry = await startTelemetry();
  await buildProgram().parseAsync(argv, { from: 'user' });
}

main(process.argv.slice(2))
  .catch((err: unknown) => {
    if (err instanceof CommanderError) {
      // commander printed its one line (or the help) already.
      process.exitCode = commanderStatus(err);
    } else if (err instanceof ColonyError) {
      // User mistakes and unreachable services are one line; anything else is a bug worth a trace.
      process.stderr.write(`colony: ${describeError(err)}\n`);
      process.exitCode = err.code === ErrorCode.Usage || err.code === ErrorCode.Config ? 2 : 1;
    } else {
      process.stderr.write(
        `colony: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  })
  .finally(() => stopTelemetry());
