import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_FILES_PER_ENTRY,
  SCHEMA_VERSION,
  type ClassOutcome,
  type ClassRequested,
  type FileJobs,
  type FileOutcome,
  type FileResults,
} from '../../schemas/events.js';
import { ErrorCode, InvalidEntryError } from '../../schemas/errors.js';
import { decodeEntry, encodeEntry, fieldsToRecord } from '../../streams/codec.js';

const traceparent = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;

const copiedFile: FileOutcome = {
  ordinal: 7,
  key: 'hls/720p/seg7.ts',
  attempts: 1,
  status: 'copied',
  bytes: 1234,
  md5: 'd41d8cd98f00b204e9800998ecf8427e',
};

/** One results entry holding each kind of file outcome. */
const copied: FileResults = {
  type: 'file-results',
  v: SCHEMA_VERSION,
  traceparent,
  classId: 'class-1',
  run: 1,
  results: [
    copiedFile,
    { ordinal: 8, key: 'hls/720p/seg8.ts', attempts: 1, status: 'skipped', bytes: 99 },
    {
      ordinal: 9,
      key: 'hls/720p/seg9.ts',
      attempts: 3,
      status: 'failed',
      reason: 'HTTP 404',
      code: 'E_SOURCE_PERMANENT',
    },
  ],
};

/** Decoding a bad entry must throw InvalidEntryError; returns its message. */
function invalidMessage(fields: Record<string, string>): string {
  try {
    decodeEntry('results', fields);
  } catch (err) {
    assert.ok(err instanceof InvalidEntryError, `expected InvalidEntryError, got ${String(err)}`);
    assert.equal(err.code, ErrorCode.InvalidEntry);
    assert.equal(err.retryable, false);
    return err.message;
  }
  assert.fail('decodeEntry accepted an invalid entry');
}

test('an event survives encode then decode unchanged', () => {
  // Prepare
  const outcome: ClassOutcome = {
    type: 'class-failed',
    v: SCHEMA_VERSION,
    classId: 'class-2',
    manifestUrl: 'https://o.test/m.m3u8',
    dest: 'file:///tmp/d',
    files: 3,
    copied: 2,
    skipped: 0,
    failed: 1,
    bytes: 10,
    failures: [{ path: 'a/b.ts', reason: '404' }],
    retries: 4,
    startedAt: 1,
    finishedAt: 2,
    durationMs: 1,
    bytesPerSecond: 10_000,
    run: 2,
    revision: 1,
  };
  const jobs: FileJobs = {
    type: 'file-jobs',
    v: SCHEMA_VERSION,
    classId: 'class-2',
    run: 2,
    files: [
      { ordinal: 0, url: 'https://o.test/a.ts?token=x', key: 'a.ts' },
      { ordinal: 1, url: 's3://bucket/b.ts', key: 'b.ts' },
    ],
  };
  const request: ClassRequested = {
    type: 'class-completed',
    v: SCHEMA_VERSION,
    traceparent,
    eventId: 'event-1',
    classId: 'class-2',
    manifestUrl: 'https://o.test/m.m3u8',
    version: '3',
    run: 2,
    requestedAt: 5,
  };

  // Act
  const result = decodeEntry('results', fieldsToRecord(encodeEntry('results', copied)));
  const decodedOutcome = decodeEntry('outcomes', fieldsToRecord(encodeEntry('outcomes', outcome)));
  const decodedJobs = decodeEntry('jobs', fieldsToRecord(encodeEntry('jobs', jobs)));
  const decodedRequest = decodeEntry('classes', fieldsToRecord(encodeEntry('classes', request)));

  // Assess
  assert.deepEqual(result, copied);
  assert.deepEqual(decodedOutcome, outcome);
  assert.deepEqual(decodedJobs, jobs);
  assert.deepEqual(decodedRequest, request);
});

test('the envelope fields stay readable next to a JSON body', () => {
  // Act
  const fields = fieldsToRecord(encodeEntry('results', copied));

  // Assess
  assert.deepEqual(Object.keys(fields), ['type', 'v', 'traceparent', 'data']);
  assert.equal(fields.type, 'file-results');
  assert.equal(fields.v, String(SCHEMA_VERSION));
  assert.equal(fields.traceparent, traceparent);
  const body = JSON.parse(fields.data!) as { type?: unknown; run: number; results: FileOutcome[] };
  assert.equal(body.type, undefined);
  assert.equal(body.run, 1);
  assert.deepEqual(body.results, copied.results);
});

test('encode refuses an event that fails its schema', () => {
  // Prepare
  const tooMany = Array.from({ length: MAX_FILES_PER_ENTRY + 1 }, (_, i) => ({
    ...copiedFile,
    ordinal: i,
  }));

  // Act + Assess
  assert.throws(() =>
    encodeEntry('results', { ...copied, results: [{ ...copiedFile, ordinal: -1 }] }),
  );
  assert.throws(() => encodeEntry('results', { ...copied, results: [] }));
  assert.throws(() => encodeEntry('results', { ...copied, results: tooMany }));
  assert.throws(() => encodeEntry('results', { ...copied, run: 0 }));
  assert.doesNotThrow(() => encodeEntry('results', { ...copied, results: tooMany.slice(1) }));
});

test('a wrong or missing schema version is an InvalidEntryError naming the version', () => {
  // Prepare
  const fields = fieldsToRecord(encodeEntry('results', copied));

  // Act
  const wrong = invalidMessage({ ...fields, v: '2' });
  const missing = invalidMessage({ foo: 'bar' });

  // Assess
  assert.match(wrong, /unsupported schema version "2"/);
  assert.match(missing, /unsupported schema version/);
});

test('a body that is not a JSON object is an InvalidEntryError', () => {
  // Prepare
  const fields = fieldsToRecord(encodeEntry('results', copied));

  // Act + Assess
  assert.match(invalidMessage({ ...fields, data: '{truncated' }), /data is not JSON/);
  assert.match(invalidMessage({ ...fields, data: '[1,2]' }), /not a JSON object/);
  assert.match(invalidMessage({ ...fields, data: 'null' }), /not a JSON object/);
});

test('a schema failure is an InvalidEntryError naming the stream and the bad fields', () => {
  // Prepare
  const fields = fieldsToRecord(encodeEntry('results', copied));
  const body = JSON.parse(fields.data!) as Record<string, unknown>;

  // Act
  const badOrdinal = invalidMessage({
    ...fields,
    data: JSON.stringify({ ...body, results: [{ ...copiedFile, ordinal: 'seven' }] }),
  });
  const badStatus = invalidMessage({
    ...fields,
    data: JSON.stringify({ ...body, results: [{ ...copiedFile, status: 'lost' }] }),
  });
  const noReason = invalidMessage({
    ...fields,
    data: JSON.stringify({ ...body, results: [{ ...copiedFile, status: 'failed', code: 'E' }] }),
  });
  const noRun = invalidMessage({ ...fields, data: JSON.stringify({ ...body, run: undefined }) });
  const oldType = invalidMessage({ ...fields, type: 'file-result' });
  const oldFormat = invalidMessage({
    ...fields,
    type: 'file-result',
    data: JSON.stringify({ classId: 'c', ...copiedFile }),
  });
  const badTrace = invalidMessage({ ...fields, traceparent: 'not-a-traceparent' });

  // Assess
  assert.match(badOrdinal, /^invalid results entry: results\.0\.ordinal/);
  assert.match(badStatus, /^invalid results entry: results\.0\.status/);
  assert.match(noReason, /^invalid results entry: results\.0\.reason/);
  assert.match(noRun, /^invalid results entry: run/);
  assert.match(oldType, /^invalid results entry: type/);
  assert.match(oldFormat, /^invalid results entry/);
  assert.match(badTrace, /traceparent/);
});

test('the envelope wins over look-alike keys in the body', () => {
  // Prepare: a body that smuggles its own type and version.
  const fields = fieldsToRecord(encodeEntry('results', copied));
  const body = JSON.parse(fields.data!) as Record<string, unknown>;
  const smuggled = { ...fields, data: JSON.stringify({ ...body, type: 'file-result', v: 99 }) };

  // Act
  const decoded = decodeEntry('results', smuggled);

  // Assess
  assert.equal(decoded.type, 'file-results');
  assert.equal(decoded.v, SCHEMA_VERSION);
});
