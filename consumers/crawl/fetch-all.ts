import type { FetchText } from './walk-types.js';

type Fetched = Awaited<ReturnType<FetchText>>;

/**
 * Fetches every URL, `limit` at a time. Results come back in URL order and failures are kept as
 * values, so the caller handles them in a deterministic order and no rejection goes unhandled.
 */
export function fetchAll(
  urls: readonly string[],
  fetchText: FetchText,
  limit: number,
): Promise<Settled<Fetched>[]> {
  return settleAll(urls, fetchText, limit);
}

export type Settled<R> = { value: R } | { error: unknown };

/** Runs `fn` on every item, `limit` at a time; results in item order, failures as values. */
export async function settleAll<T, R>(
  items: readonly T[],
  fn: (item: T) => Promise<R>,
  limit: number,
): Promise<Settled<R>[]> {
  const out = new Array<Settled<R>>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { value: await fn(items[i]!) };
      } catch (error) {
        out[i] = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return out;
}

/** HLS by content, whatever the name or Content-Type: the first line is #EXTM3U. */
export function isHls(text: string): boolean {
  return /^#EXTM3U(?![A-Za-z0-9-])/.test(text.replace(/^\uFEFF/, '').trimStart());
}
