/**
 * The AWS SDK warns on every start under Node 20 that its releases after January 2027 will need
 * Node 22. colony pins its SDK version, so the warning tells a user of `colony transfer` nothing
 * they can act on; every other process warning still prints.
 */
export function silenceSdkNodeVersionWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    if (typeof warning === 'string' && warning.startsWith('NodeVersionSupportWarning')) return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
