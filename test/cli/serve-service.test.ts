import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runColony } from '../helpers/cli.js';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const env = () => ({
  REDIS_URL: TEST_REDIS_URL,
  COLONY_PREFIX: uniquePrefix('serve'),
  COLONY_DASHBOARD_TOKEN: '',
});

test('serve bound off loopback refuses to start without COLONY_DASHBOARD_TOKEN, in one line', async () => {
  // Act
  const run = await runColony(
    ['serve', '--port', '0'],
    { ...env(), COLONY_HOST: '0.0.0.0' },
    30_000,
  );

  // Assess
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, /COLONY_DASHBOARD_TOKEN: required to serve on 0\.0\.0\.0/);
});

test('a dashboard token too short is refused without being echoed', async () => {
  // Act
  const run = await runColony(
    ['serve', '--port', '0'],
    { ...env(), COLONY_DASHBOARD_TOKEN: 'short-secret' },
    30_000,
  );

  // Assess
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /COLONY_DASHBOARD_TOKEN: expected a token of at least 16 characters/);
  assert.doesNotMatch(run.stderr, /short-secret/);
});
