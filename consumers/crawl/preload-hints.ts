import { SourcePermanentError } from '../../schemas/errors.js';
import { settleAll } from './fetch-all.js';
import type { FileKind } from './file-list.js';
import type { ProbeFile } from './walk-types.js';

/** A preload hint of a live playlist, to ask the origin about before it is listed. */
export type Hint = { url: string; key: string; kind: FileKind; playlist: string };

/**
 * A probe made of a GET (`get` resolves once the origin answered with the file): a permanent
 * refusal (404, 410, 403) means absent; transient errors are thrown, for the caller to retry.
 */
export function probeBy(get: (url: string) => Promise<unknown>): ProbeFile {
  return async (url) => {
    try {
      await get(url);
      return { served: true };
    } catch (err) {
      if (err instanceof SourcePermanentError) return { served: false, reason: err.message };
      throw err;
    }
  };
}

/**
 * Asks the origin about each hint (once per URL, `limit` at a time), in hint order: `absent` is
 * the reason for one it does not serve. A transient error that outlived the probe's retries is
 * thrown, and the class is handed back.
 */
export async function askOrigin(
  hints: readonly Hint[],
  probe: ProbeFile,
  limit: number,
): Promise<{ hint: Hint; absent?: string }[]> {
  const unique = [...new Map(hints.map((h) => [h.url, h])).values()];
  const answers = await settleAll(unique, (h) => probe(h.url), limit);
  return unique.map((hint, i) => {
    const answer = answers[i]!;
    if ('error' in answer) throw answer.error;
    return answer.value.served ? { hint } : { hint, absent: answer.value.reason };
  });
}
