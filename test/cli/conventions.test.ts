import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { runColony } from '../helpers/cli.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** Usage mistakes: exit 2, one line naming the problem and the command's --help. */
const usageErrors: [string, string[], RegExp][] = [
  [
    'unknown option',
    ['status', '--frobnicate'],
    /^colony: unknown option '--frobnicate' \(see: colony status --help\)$/,
  ],
  [
    'option without its value',
    ['transfer', 'http://127.0.0.1:9/a.m3u8', '--dest'],
    /^colony: option '--dest <url>' argument missing \(see: colony transfer --help\)$/,
  ],
  [
    'unknown option of a subcommand',
    ['dlq', 'list', '--bogus'],
    /^colony: unknown option '--bogus' \(see: colony dlq list --help\)$/,
  ],
  ['too many arguments', ['trim', 'extra'], /too many arguments.*\(see: colony trim --help\)$/],
  [
    'a missing --dest says it is required',
    ['transfer', 'http://127.0.0.1:9/a.m3u8'],
    /^colony: --dest is required: /,
  ],
  [
    'a bad number names the option once',
    ['transfer', 'http://127.0.0.1:9/a.m3u8', '--dest', '/tmp/x', '--concurrency', 'lots'],
    /^colony: --concurrency: expected a whole number$/,
  ],
  ['-q and -v together', ['transfer', '-q', '-v'], /cannot be used with option/],
];

describe('command-line conventions', () => {
  for (const [name, args, line] of usageErrors) {
    test(`${name}: exit 2 and one line`, async () => {
      const run = await runColony(args, { REDIS_URL: TEST_REDIS_URL, COLONY_DEST: '' }, 20_000);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.match(run.stderr.trim(), line);
      assert.equal(run.stdout, '');
    });
  }

  test('--version and -V print the package version', async () => {
    for (const flag of ['--version', '-V']) {
      const run = await runColony([flag]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), version);
    }
  });

  test('no arguments: the help on stderr, exit 2; --help and help: on stdout, exit 0', async () => {
    const bare = await runColony([]);
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, '');
    assert.match(bare.stderr, /^Usage: colony <command> \[options\]/);
    for (const args of [['--help'], ['help'], ['-h']]) {
      const run = await runColony(args);
      assert.equal(run.code, 0, args.join(' '));
      assert.match(run.stdout, /^Usage: colony <command> \[options\]/);
      assert.match(run.stdout, /transfer <manifestUrl>\.\.\. --dest <url>/);
      assert.equal(run.stderr, '');
    }
    const sub = await runColony(['dlq']);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /^Usage: colony dlq <list \| retry \| purge>/);
  });

  test('every command has a --help on stdout, with -q/-v where they mean something', async () => {
    const withVerbosity = ['transfer', 'serve', 'demo', 'scan', 'replay', 'reconcile', 'report'];
    for (const name of [...withVerbosity, 'trim', 'status', 'sign', 'dlq list', 'dlq purge']) {
      const run = await runColony([...name.split(' '), '--help']);
      assert.equal(run.code, 0, name);
      assert.match(run.stdout, new RegExp(`^Usage: colony ${name} `), name);
      if (withVerbosity.includes(name)) assert.match(run.stdout, /-q, --quiet.*\n.*-v, --verbose/);
    }
  });
});
