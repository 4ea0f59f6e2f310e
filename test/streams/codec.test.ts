import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCHEMA_VERSION, type ClassOutcome, type FileResult } from '../../schemas/events.js';
import { ErrorCode, InvalidEntryError } from '../../schemas/errors.js';
import { decodeEntry, encodeEntry, fieldsToRecord } from '../../streams/codec.js';

const traceparent = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;

const copied: FileResult = {
  type: 'file-result',
  v: SCHEMA_VERSION,
  traceparent,
  classId: 'class-1',
  ordinal: 7,
  key: 'hls/720p/seg7.ts',
  attempts: 1,
  status: 'copied',
  bytes: 1234,
  md5: 'd41d8cd98f00b204e9800998ecf8427e',
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
    startedAt: 1,
    finishedAt: 2,
    revision: 1,
  };

  // Act
  const result = decodeEntry('results', fieldsToRecord(encodeEntry('results', copied)));
  const decodedOutcome = decodeEntry('outcomes', fieldsToRecord(encodeEntry('outcomes', outcome)));

  // Assess
  assert.deepEqual(result, copied);
  assert.deepEqual(decodedOutcome, outcome);
});

test('the envelope fields stay readable next to a JSON body', () => {
  // Act
  const fields = fieldsToRecord(encodeEntry('results', copied));

  // Assess
  assert.deepEqual(Object.keys(fields), ['type', 'v', 'traceparent', 'data']);
  assert.equal(fields.type, 'file-result');
  assert.equal(fields.v, String(SCHEMA_VERSION));
  assert.equal(fields.traceparent, traceparent);
  const body = JSON.parse(fields.data!) as Record<string, unknown>;
  assert.equal(body.type, undefined);
  assert.equal(body.ordinal, 7);
});

test('encode refuses an event that fails its schema', () => {
  // Act + Assess
  assert.throws(() => encodeEntry('results', { ...copied, ordinal: -1 }));
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
    data: JSON.stringify({ ...body, ordinal: 'seven' }),
  });
  const badType = invalidMessage({ ...fields, type: 'file-job' });
  const badTrace = invalidMessage({ ...fields, traceparent: 'not-a-traceparent' });

  // Assess
  assert.match(badOrdinal, /^invalid results entry: .*ordinal/);
  assert.match(badType, /^invalid results entry/);
  assert.match(badTrace, /traceparent/);
});

test('the envelope wins over look-alike keys in the body', () => {
  // Prepare: a body that smuggles its own type and version.
  const fields = fieldsToRecord(encodeEntry('results', copied));
  const body = JSON.parse(fields.data!) as Record<string, unknown>;
  const smuggled = { ...fields, data: JSON.stringify({ ...body, type: 'file-job', v: 99 }) };

  // Act
  const decoded = decodeEntry('results', smuggled);

  // Assess
  assert.equal(decoded.type, 'file-result');
  assert.equal(decoded.v, SCHEMA_VERSION);
});
