/**
 * The one backoff of the project: every retry (a copy, a part, a Lambda invoke, a crawl fetch, a
 * consumer group's read loop, a Redis reconnect) waits by these rules, so they are tuned and
 * tested in one place. Exponential growth with full jitter (AWS Architecture Blog, "Exponential
 * Backoff and Jitter"): a crowd of retrying workers spreads out instead of hammering a recovering
 * origin in waves. A server that says when to come back (`Retry-After`, S3 SlowDown with a hint)
 * is believed, up to a cap.
 */

export type BackoffPolicy = {
  /** The ceiling of the first wait. */
  baseMs: number;
  /** No wait is longer than this (Retry-After included, unless `maxRetryAfterMs` says more). */
  maxMs: number;
  /** `full` (default): uniform in [0, ceiling]; `none`: the ceiling itself (reconnect loops). */
  jitter?: 'full' | 'none';
  /** The longest Retry-After honoured; default `maxMs`. */
  maxRetryAfterMs?: number;
};

/**
 * Copies, parts, invokes: 200 ms doubling to 5 s; a server's Retry-After is believed up to 30 s
 * (longer, and the copy slot is better given back: the file fails its attempt and is retried).
 */
export const COPY_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 5000, maxRetryAfterMs: 30_000 };
/** Playlist fetches of the crawler. */
export const CRAWL_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 5000 };
/** A consumer loop whose Redis calls fail: quick at first, then every 2 s. */
export const LOOP_BACKOFF: BackoffPolicy = { baseMs: 50, maxMs: 2000, jitter: 'none' };
/** ioredis reconnects. */
export const RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 100, maxMs: 2000, jitter: 'none' };

/**
 * How long to wait before attempt `attempt + 1`, after `attempt` failures (1 = the first retry).
 * A `retryAfterMs` from the server replaces the computed wait when it is longer.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const computed = policy.jitter === 'none' ? ceiling : random() * ceiling;
  if (retryAfterMs === undefined || !(retryAfterMs > computed)) return computed;
  return Math.min(retryAfterMs, policy.maxRetryAfterMs ?? policy.maxMs);
}

/**
 * A `Retry-After` header in milliseconds: delta seconds (`120`) or an HTTP date. Undefined when
 * absent or unreadable; never negative.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** The server's requested wait carried by an error (see ColonyError.retryAfterMs), if any. */
export function retryAfterOf(err: unknown): number | undefined {
  const ms = (err as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) ? ms : undefined;
}

/**
 * Waits `ms`, or less when `signal` aborts (then it rejects with the signal's reason). `unref`
 * lets a stopping process exit without waiting for the timer.
 */
export function sleep(ms: number, signal?: AbortSignal, { unref = false } = {}): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (unref) timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
