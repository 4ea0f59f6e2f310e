import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyS3Error } from '../../copy/s3-errors.js';
import { ColonyError } from '../../schemas/errors.js';

const classify = (err: unknown) =>
  classifyS3Error('PUT', 's3://b/k', err, undefined) as ColonyError;

test('no credentials is permanent: a file is not retried for a configuration the run cannot fix', () => {
  const err = Object.assign(new Error('Could not load credentials from any providers'), {
    name: 'CredentialsProviderError',
  });
  const classified = classify(err);
  assert.equal(classified.retryable, false);
  assert.match(classified.message, /PUT s3:\/\/b\/k failed: CredentialsProviderError/);
});

test('403 is permanent, 503 and a network error are retried', () => {
  const http = (status: number, name: string) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  assert.equal(classify(http(403, 'AccessDenied')).retryable, false);
  assert.equal(classify(http(503, 'SlowDown')).retryable, true);
  assert.equal(classify(Object.assign(new Error('reset'), { name: 'ECONNRESET' })).retryable, true);
});
