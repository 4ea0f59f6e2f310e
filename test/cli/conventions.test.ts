import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startSampleOrigin, type SampleOrigin } from '../../cli/sample-origin.js';
import { DryRunDocument, TransferDocument } from '../../schemas/cli-output.js';
import { SCHEMA_VERSION, type DeadLetter } from '../../schemas/events.js';
import { encodeEntry } from '../../streams/codec.js';
import { Keys } from '../../streams/keys.js';
import { runColony } from '../helpers/cli.js';
import { HLS_ROOT, expectedFixtures } from '../helpers/fixtures.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix } from '../helpers/redis.js';

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

test('shell completion: bash completes commands, subcommands and options', async (t) => {
  if (spawnSync('bash', ['--version']).status !== 0) return t.skip('bash not installed');
  const script = await runColony(['completion', 'bash']);
  assert.equal(script.code, 0, script.stderr);
  const complete = (...words: string[]) =>
    spawnSync(
      'bash',
      [
        '-c',
        `eval "$SCRIPT"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _colony_complete; echo "\${COMPREPLY[*]}"`,
      ],
      { env: { ...process.env, SCRIPT: script.stdout }, encoding: 'utf8' },
    ).stdout.trim();
  assert.equal(complete('colony', 'tra'), 'transfer');
  assert.equal(complete('colony', 'transfer', '--dr'), '--dry-run');
  assert.equal(complete('colony', 'dlq', 'pu'), 'purge');
  assert.match(complete('colony', 'dlq', 'purge', '--'), /--all --dry-run/);
  const zsh = await runColony(['completion', 'zsh']);
  assert.match(zsh.stdout, /^autoload -U \+X bashcompinit && bashcompinit\n/);
});

describe('conventions that need Redis', () => {
  const prefix = uniquePrefix('conv');
  const env = { REDIS_URL: TEST_REDIS_URL, COLONY_PREFIX: prefix };
  let origin: SampleOrigin;
  let dir: string;
  before(async () => {
    origin = await startSampleOrigin({ root: HLS_ROOT });
    dir = await mkdtemp(join(tmpdir(), 'colony-conv-'));
  });
  after(async () => {
    await origin.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
    await rm(dir, { recursive: true, force: true });
  });
  const fixture = expectedFixtures()['media-only']!;

  test('transfer --dry-run lists what would be copied, and copies and enqueues nothing', async () => {
    const manifest = `${origin.url}/hls/${fixture.manifest}`;
    const out = join(dir, 'dry');
    const run = await runColony(['transfer', manifest, '--dest', out, '--dry-run'], env);
    const json = await runColony(['transfer', manifest, '--dest', out, '--dry-run', '--json'], env);

    assert.equal(run.code, 0, run.stderr);
    const keys = run.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t')[0]);
    assert.deepEqual(keys.sort(), fixture.files.map((f) => `hls/${f}`).sort());
    assert.match(
      run.stderr,
      new RegExp(`would copy ${fixture.files.length} files to file://${out}`),
    );
    const doc = DryRunDocument.parse(JSON.parse(json.stdout));
    assert.equal(doc.classes[0]!.files.length, fixture.files.length);
    await assert.rejects(stat(out), { code: 'ENOENT' });
    const redis = new Redis(TEST_REDIS_URL);
    try {
      assert.deepEqual(await redis.keys(`${prefix}:*`), []);
    } finally {
      redis.disconnect();
    }
  });

  test('a plain path as --dest is a file:// URL of its absolute form; plurals are right', async () => {
    const run = await runColony(
      ['transfer', `${origin.url}/hls/${fixture.manifest}`, '--dest', 'rel-out', '--json'],
      env,
      120_000,
      dir,
    );
    assert.equal(run.code, 0, run.stderr);
    const report = TransferDocument.parse(JSON.parse(run.stdout));
    assert.equal(report.classes[0]!.files, fixture.files.length);
    assert.ok((await stat(join(dir, 'rel-out', 'hls', fixture.files[0]!))).isFile());
    assert.match(run.stderr, /^1 of 1 class transferred completely$/m);
    const replay = await runColony(['replay', '--stream', 'classes'], env);
    assert.match(replay.stderr, /^1 entry of classes$/m);
  });

  test('dlq purge --dry-run says what would go and deletes nothing', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const keys = new Keys(prefix);
      const letter: DeadLetter = {
        type: 'dead-letter',
        v: SCHEMA_VERSION,
        stream: 'jobs',
        group: 'transfer',
        entryId: '1-0',
        deliveries: 1,
        reason: 'a poison entry',
        fields: { type: 'file-jobs', v: '1', data: '{}' },
        deadAt: Date.now(),
      };
      await redis.xadd(keys.stream('dead'), '*', ...encodeEntry('dead', letter));

      const dry = await runColony(['dlq', 'purge', '--all', '--dry-run'], env);

      assert.equal(dry.code, 0, dry.stderr);
      assert.match(
        dry.stdout,
        /^would purge \d+-\d+ {2}jobs\/transfer {2}1 delivery {2}\S+ {2}a poison entry$/m,
      );
      assert.match(dry.stdout, /^would purge 1 dead letter$/m);
      assert.equal(await redis.xlen(keys.stream('dead')), 1);
    } finally {
      redis.disconnect();
    }
  });

  test('a password Redis does not ask for is one warning, once', async () => {
    const url = new URL(TEST_REDIS_URL);
    if (url.password) return;
    url.password = 'not-needed';
    const run = await runColony(['status'], { ...env, REDIS_URL: url.toString() });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stderr,
      'colony: warning: REDIS_URL has a password, but this Redis asks for none; it is not used\n',
    );
  });
});
