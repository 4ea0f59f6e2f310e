import { constants } from 'node:os';
import { handOverSignals } from './early-signals.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** The exit status of a process ended by a signal, as shells report it (130 for SIGINT). */
export function signalStatus(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Takes SIGINT and SIGTERM for a graceful stop: the first calls `stop` (the command finishes or
 * hands back what it holds, then exits); a second exits at once, for the person who does not
 * want to wait. Returns the function that removes the handlers.
 */
export function onStopSignals(stop: (signal: NodeJS.Signals) => void): () => void {
  let asked = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (asked) {
      process.stderr.write(`colony: second ${signal}: exiting now\n`);
      process.exit(signalStatus(signal));
    }
    asked = true;
    stop(signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  // A signal that came while colony was loading is this command's first.
  const early = handOverSignals();
  if (early) handler(early);
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, handler);
  };
}
