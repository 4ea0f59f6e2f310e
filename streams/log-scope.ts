import { AsyncLocalStorage } from 'node:async_hooks';

/** Fields every log line written inside a scope carries: trace ids, stage, class. */
export type LogFields = Record<string, unknown>;

const scope = new AsyncLocalStorage<LogFields>();

/**
 * Runs `fn` with `fields` added to every log line written inside it (and inside what it awaits),
 * on top of the fields of the scope it runs in. This is how a line logged deep in a stage knows
 * the trace, stage and class of the delivery it belongs to without every caller passing them.
 */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
  const outer = scope.getStore();
  return scope.run(outer ? { ...outer, ...fields } : fields, fn);
}

/** The fields of the current scope (empty outside any). */
export function scopedLogFields(): LogFields {
  return scope.getStore() ?? {};
}
