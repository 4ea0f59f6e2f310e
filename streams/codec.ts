import {
  SCHEMA_VERSION,
  StreamSchemas,
  type StreamEvent,
  type StreamName,
} from '../schemas/events.js';
import { InvalidEntryError } from '../schemas/errors.js';

/**
 * Stream entries are stored as four fields: `type`, `v`, `traceparent` and `data` (the rest of
 * the event as JSON). The envelope stays readable with redis-cli; the body stays one field so
 * that an entry costs one JSON parse and one schema check.
 */
export function encodeEntry<S extends StreamName>(stream: S, event: StreamEvent<S>): string[] {
  const checked = StreamSchemas[stream].parse(event) as Record<string, unknown>;
  const { type, v, traceparent, ...body } = checked;
  return [
    'type',
    String(type),
    'v',
    String(v),
    'traceparent',
    typeof traceparent === 'string' ? traceparent : '',
    'data',
    JSON.stringify(body),
  ];
}

/** Turns a flat [k, v, k, v] array from XRANGE / XREADGROUP into a record. */
export function fieldsToRecord(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/** Validates an entry read from a stream; throws InvalidEntryError naming what is wrong. */
export function decodeEntry<S extends StreamName>(
  stream: S,
  fields: Record<string, string>,
): StreamEvent<S> {
  if (fields.v !== String(SCHEMA_VERSION)) {
    throw new InvalidEntryError(`unsupported schema version ${JSON.stringify(fields.v)}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(fields.data ?? '');
  } catch {
    throw new InvalidEntryError('data is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidEntryError('data is not a JSON object');
  }
  const candidate = {
    ...body,
    type: fields.type,
    v: SCHEMA_VERSION,
    ...(fields.traceparent ? { traceparent: fields.traceparent } : {}),
  };
  const parsed = StreamSchemas[stream].safeParse(candidate);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || 'entry'}: ${i.message}`);
    throw new InvalidEntryError(`invalid ${stream} entry: ${issues.join('; ')}`);
  }
  return parsed.data as StreamEvent<S>;
}
