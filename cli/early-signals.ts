/**
 * SIGINT and SIGTERM taken from the first moment, while colony is still loading (the AWS SDK and
 * the stages take a second or two): without a handler then, a signal kills the process outright,
 * and a service asked to stop while starting dies instead of stopping. This module imports
 * nothing, so that main can install it before loading anything else.
 */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const NUMBERS: Record<(typeof SIGNALS)[number], number> = { SIGINT: 2, SIGTERM: 15 };

let pending: NodeJS.Signals | undefined;
let installed = false;

function record(signal: NodeJS.Signals): void {
  // A second signal before anything started: nothing to hand back, exit as asked.
  if (pending) process.exit(128 + (NUMBERS[signal as keyof typeof NUMBERS] ?? 0));
  pending = signal;
}

/** Records SIGINT and SIGTERM until a command takes them over (see {@link handOverSignals}). */
export function takeSignalsEarly(): void {
  if (installed) return;
  installed = true;
  for (const s of SIGNALS) process.on(s, record);
}

/**
 * Removes the early handlers and returns the signal that arrived meanwhile, if one did. The caller
 * installs its own handlers first (no moment without one), then acts on what this returns.
 */
export function handOverSignals(): NodeJS.Signals | undefined {
  if (installed) for (const s of SIGNALS) process.off(s, record);
  installed = false;
  const signal = pending;
  pending = undefined;
  return signal;
}
