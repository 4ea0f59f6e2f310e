import type { ScanItem, ScanSummary } from '../../schemas/cli-output.js';
import { readFile } from 'node:fs/promises';
import { ClassCompletedBody } from '../../schemas/webhook.js';
import { UsageError, describeError } from '../../schemas/errors.js';
import type { ClassStore } from '../../streams/class-store.js';
import type { EventPublisher } from '../../streams/publisher.js';
import { requestClass } from './ingest.js';

/** Largest catalog read, file or URL: a catalog of 2,000 classes is a few hundred KB. */
export const MAX_CATALOG_BYTES = 256 * 1024 * 1024;

/** A catalog that cannot be read or parsed at all (single records are skipped, not fatal). */
export class CatalogError extends UsageError {}

/** One record of a catalog, numbered from 1: the array index, or the line of NDJSON. */
export type CatalogRecord = { number: number; value: unknown } | { number: number; error: string };

export type { ScanItem, ScanSummary };

/** Reads a catalog from a file path or an http(s) URL, at most MAX_CATALOG_BYTES. */
export async function readCatalog(source: string, timeoutMs = 30_000): Promise<string> {
  if (/^https?:\/\//i.test(source)) {
    let res: Response;
    try {
      res = await fetch(source, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    } catch (err) {
      throw new CatalogError(`cannot fetch catalog ${source}: ${describeError(err)}`);
    }
    if (!res.ok) throw new CatalogError(`cannot fetch catalog ${source}: HTTP ${res.status}`);
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > MAX_CATALOG_BYTES) {
      await res.body?.cancel();
      throw new CatalogError(`catalog ${source} is over ${MAX_CATALOG_BYTES} bytes`);
    }
    const text = await res.text();
    if (Buffer.byteLength(text) > MAX_CATALOG_BYTES)
      throw new CatalogError(`catalog ${source} is over ${MAX_CATALOG_BYTES} bytes`);
    return text;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !/^file:\/\//i.test(source)) {
    throw new CatalogError(`catalog ${source}: expected a file path or an http(s):// URL`);
  }
  const path = source.replace(/^file:\/\//i, '');
  try {
    const data = await readFile(path);
    if (data.length > MAX_CATALOG_BYTES)
      throw new CatalogError(`catalog ${path} is over ${MAX_CATALOG_BYTES} bytes`);
    return data.toString('utf8');
  } catch (err) {
    if (err instanceof CatalogError) throw err;
    const code = (err as { code?: string }).code;
    throw new CatalogError(
      `cannot read catalog ${path}${code ? ` (${code})` : `: ${describeError(err)}`}`,
    );
  }
}

/**
 * Splits a catalog into records. A JSON document may be an array of classes or an object with a
 * `classes` array (a lone class object counts as one record); anything that does not parse as
 * one JSON document is read as NDJSON, one class per line, where a bad line is a bad record, not
 * a bad catalog.
 */
export function parseCatalog(text: string): CatalogRecord[] {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') throw new CatalogError('the catalog is empty');
  let doc: unknown;
  let isJson = true;
  try {
    doc = JSON.parse(body);
  } catch {
    isJson = false;
  }
  if (isJson) {
    if (Array.isArray(doc)) return doc.map((value, i) => ({ number: i + 1, value }));
    if (doc && typeof doc === 'object') {
      const classes = (doc as { classes?: unknown }).classes;
      if (Array.isArray(classes)) return classes.map((value, i) => ({ number: i + 1, value }));
      if (classes !== undefined) throw new CatalogError('the catalog\'s "classes" is not an array');
      return [{ number: 1, value: doc }];
    }
    throw new CatalogError(
      'the catalog is JSON but neither an array nor an object with a "classes" array',
    );
  }
  const out: CatalogRecord[] = [];
  body.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push({ number: i + 1, value: JSON.parse(line) });
    } catch {
      out.push({ number: i + 1, error: 'not JSON' });
    }
  });
  return out;
}

/**
 * Enqueues the classes of a catalog, each validated as a `class-completed` body: test and
 * aborted classes and invalid records are skipped with the reason, the others are requested
 * idempotently (the same class and version twice enqueues once), in catalog order.
 */
export async function scanCatalog(
  deps: { classes: ClassStore; publisher: EventPublisher },
  records: readonly CatalogRecord[],
  o: { dest: string; sourceBase?: string | undefined },
): Promise<ScanItem[]> {
  const out: ScanItem[] = [];
  for (const record of records) {
    if ('error' in record) {
      out.push({
        record: record.number,
        action: 'skipped',
        reason: `invalid record: ${record.error}`,
      });
      continue;
    }
    const parsed = ClassCompletedBody.safeParse(record.value);
    if (!parsed.success) {
      const reasons = parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || 'record'}: ${i.message}`);
      const classId = (record.value as { classId?: unknown } | null)?.classId;
      out.push({
        record: record.number,
        ...(typeof classId === 'string' ? { classId } : {}),
        action: 'skipped',
        reason: `invalid record: ${reasons.join('; ')}`,
      });
      continue;
    }
    const c = parsed.data;
    if (c.test || c.aborted) {
      out.push({
        record: record.number,
        classId: c.classId,
        action: 'skipped',
        reason: c.test ? 'test class' : 'aborted class',
      });
      continue;
    }
    const receipt = await requestClass(deps.classes, deps.publisher, {
      classId: c.classId,
      manifestUrl: c.manifestUrl,
      dest: o.dest,
      sourceBase: o.sourceBase,
      title: c.title,
      version: c.version,
      recordedAt: c.recordedAt,
    });
    const base = { record: record.number, classId: c.classId, eventId: receipt.eventId };
    if (receipt.state === 'queued') out.push({ ...base, action: 'enqueued' });
    else if (receipt.state === 'conflict') {
      out.push({
        ...base,
        action: 'skipped',
        reason: 'another version of the class is being transferred; scan again when it finishes',
      });
    } else out.push({ ...base, action: 'known', state: receipt.state });
  }
  return out;
}

/** Counts of a scan, for the summary line and `--json`. */
export function scanSummary(items: readonly ScanItem[]): ScanSummary {
  const count = (a: ScanItem['action']) => items.filter((i) => i.action === a).length;
  const invalid = items.filter((i) => i.reason?.startsWith('invalid record')).length;
  return {
    records: items.length,
    enqueued: count('enqueued'),
    known: count('known'),
    skipped: count('skipped'),
    invalid,
  };
}
