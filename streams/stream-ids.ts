import { UsageError } from '../schemas/errors.js';

/** The largest sequence part of a stream ID (2^64 - 1). */
const MAX_SEQ = 18446744073709551615n;

/** Splits a full stream ID `ms-seq` into numbers; throws on anything else. */
export function parseId(id: string): [bigint, bigint] {
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (!m) throw new UsageError(`not a stream ID: ${JSON.stringify(id)} (expected <ms>-<seq>)`);
  return [BigInt(m[1]!), BigInt(m[2]!)];
}

/** Orders two full stream IDs: negative, zero or positive, as Redis orders them. */
export function compareIds(a: string, b: string): number {
  const [am, as] = parseId(a);
  const [bm, bs] = parseId(b);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** The smallest ID after `id`. */
export function nextId(id: string): string {
  const [ms, seq] = parseId(id);
  return seq === MAX_SEQ ? `${ms + 1n}-0` : `${ms}-${seq + 1n}`;
}

/** The largest ID before `id` (`0-0` has none and stays `0-0`). */
export function previousId(id: string): string {
  const [ms, seq] = parseId(id);
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms === 0n ? '0-0' : `${ms - 1n}-${MAX_SEQ}`;
}

/** The time part of a stream ID, in unix milliseconds. */
export function idTime(id: string): number {
  return Number(parseId(id)[0]);
}

/**
 * Reads a position given on the command line: a stream ID (`1700000000000-3`), unix
 * milliseconds, or an ISO time. A time names every entry of that millisecond, so as a start it
 * is `<ms>-0` and as an end `<ms>-<max>`; both ends are inclusive.
 *
 * @throws UsageError naming the option when the text is none of these.
 */
export function parsePosition(
  text: string,
  edge: 'start' | 'end',
  option = edge === 'start' ? '--from' : '--to',
): string {
  const t = text.trim();
  if (/^\d+-\d+$/.test(t)) return parseId(t).join('-');
  let ms: number | undefined;
  if (/^\d+$/.test(t)) ms = Number(t);
  else if (/\d{4}-\d{2}-\d{2}/.test(t) && Number.isFinite(Date.parse(t))) ms = Date.parse(t);
  if (ms === undefined || !Number.isSafeInteger(ms) || ms < 0) {
    throw new UsageError(
      `${option}: expected a stream ID (1700000000000-0), unix milliseconds or an ISO time (2026-01-31T12:00:00Z), got ${JSON.stringify(text)}`,
    );
  }
  return edge === 'start' ? `${ms}-0` : `${ms}-${MAX_SEQ}`;
}
