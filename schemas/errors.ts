/**
 * One small error hierarchy with stable codes, so a caller can act on `code` rather than on
 * message text. `retryable` separates transient faults (retry with backoff) from permanent ones
 * (fail the file at once, or send a poison entry to `dead`).
 */
export const ErrorCode = {
  Config: 'E_CONFIG',
  Usage: 'E_USAGE',
  RedisUnavailable: 'E_REDIS_UNAVAILABLE',
  InvalidEntry: 'E_INVALID_ENTRY',
  Crawl: 'E_CRAWL',
  UnsafeUri: 'E_UNSAFE_URI',
  SourceTransient: 'E_SOURCE_TRANSIENT',
  SourcePermanent: 'E_SOURCE_PERMANENT',
  SizeMismatch: 'E_SIZE_MISMATCH',
  Destination: 'E_DESTINATION',
  Script: 'E_SCRIPT',
  /** The Redis server is reachable but unfit: too old, or it may evict colony's keys. */
  RedisUnfit: 'E_REDIS_UNFIT',
  /** A write was not confirmed by a replica in time (Redis Cluster, WAIT): retried later. */
  Replication: 'E_REPLICATION',
  LambdaInvoke: 'E_LAMBDA_INVOKE',
  LambdaFunction: 'E_LAMBDA_FUNCTION',
  /** Two URLs of one destination key serve different bytes: the destination can hold one. */
  KeyConflict: 'E_KEY_CONFLICT',
  /** A copy stopped by its caller's signal (a deadline, a shutdown) before it finished. */
  Aborted: 'E_ABORTED',
  /** A file whose batch was dead-lettered: it failed because its entry could not be delivered. */
  DeadLetter: 'E_DEAD_LETTER',
  /** A failure that is not one of colony's errors (a bug, or a library's own error). */
  Unknown: 'E_UNKNOWN',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
/** Every code, for schemas: a failed file's `code` is one of these and nothing else. */
export const ERROR_CODES = Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]];

export class ColonyError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** How long the other side asked us to wait before trying again (Retry-After), if it said. */
  readonly retryAfterMs: number | undefined;
  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryable?: boolean; retryAfterMs?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options?.retryable ?? false;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A bad environment variable or option: the message names it and says what was expected. */
export class ConfigError extends ColonyError {
  constructor(message: string) {
    super(ErrorCode.Config, message);
  }
}

/** A user mistake on the command line. */
export class UsageError extends ColonyError {
  constructor(message: string) {
    super(ErrorCode.Usage, message);
  }
}

export class RedisUnavailableError extends ColonyError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.RedisUnavailable, message, { cause, retryable: true });
  }
}

/** A Redis server colony must not run on; the message names the setting to change. */
export class RedisUnfitError extends ColonyError {
  constructor(message: string) {
    super(ErrorCode.RedisUnfit, message);
  }
}

/** A write a replica has not confirmed: acking what depends on it could lose it in a failover. */
export class ReplicationError extends ColonyError {
  constructor(message: string) {
    super(ErrorCode.Replication, message, { retryable: true });
  }
}

/** A stream entry that failed schema validation: it goes to `dead`, never to a handler. */
export class InvalidEntryError extends ColonyError {
  constructor(message: string) {
    super(ErrorCode.InvalidEntry, message);
  }
}

/** The class cannot be crawled completely; the class fails with this reason. */
export class CrawlError extends ColonyError {
  constructor(message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(ErrorCode.Crawl, message, options);
  }
}

/** A URI outside the allowed origins, or a destination key that would leave its prefix. */
export class UnsafeUriError extends ColonyError {
  constructor(message: string) {
    super(ErrorCode.UnsafeUri, message);
  }
}

/** Network error, 5xx, 429, timeout, reset: worth another attempt. */
export class SourceTransientError extends ColonyError {
  constructor(message: string, cause?: unknown, retryAfterMs?: number) {
    super(ErrorCode.SourceTransient, message, {
      cause,
      retryable: true,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
}

/** 403, 404 and other answers that will not change on retry. */
export class SourcePermanentError extends ColonyError {
  constructor(message: string) {
    super(ErrorCode.SourcePermanent, message);
  }
}

/** Fewer or more bytes than the source announced: a truncated body, retried. */
export class SizeMismatchError extends ColonyError {
  constructor(expected: number, actual: number) {
    super(ErrorCode.SizeMismatch, `size mismatch: expected ${expected} bytes, got ${actual}`, {
      retryable: true,
    });
  }
}

/** URLs that name one destination key serve different bytes; the file fails with both paths. */
export class KeyConflictError extends ColonyError {
  constructor(message: string) {
    super(ErrorCode.KeyConflict, message);
  }
}

export class DestinationError extends ColonyError {
  constructor(message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(ErrorCode.Destination, message, { retryable: true, ...options });
  }
}

/** A Lua script answered with an error code (see streams/scripts). */
export class ScriptError extends ColonyError {
  constructor(message: string) {
    super(ErrorCode.Script, message);
  }
}

/** One line for a person: the message, and the cause's message when it adds something. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? err.cause.message : undefined;
    return cause && !err.message.includes(cause) ? `${err.message}: ${cause}` : err.message;
  }
  return String(err);
}
