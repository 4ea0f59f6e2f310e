import type { FetchText } from './walk-types.js';

type Fetched = Awaited<ReturnType<FetchText>>;

/**
 * Fetches every URL, `limit` at a time. Results come back in URL order and failures are kept as
 * values, so the caller handles them in a deterministic order and no rejection goes unhandled.
 */
export async function fetchAll(
  urls: readonly string[],
  fetchText: FetchText,
  limit: number,
): Promise<({ value: Fetched } | { error: unknown })[]> {
  const out = new Array<{ value: Fetched } | { error: unknown }>(urls.length);
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const i = next++;
      try {
        out[i] = { value: await fetchText(urls[i]!) };
      } catch (error) {
        out[i] = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), urls.length) }, worker));
  return out;
}

/** HLS by content, whatever the name or Content-Type: the first line is #EXTM3U. */
export function isHls(text: string): boolean {
  return /^#EXTM3U(?![A-Za-z0-9-])/.test(text.replace(/^\uFEFF/, '').trimStart());
}
