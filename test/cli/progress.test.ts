import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSampleOrigin, type SampleOrigin } from '../../cli/sample-origin.js';
import { COLONY_BIN, collect, runColony } from '../helpers/cli.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix } from '../helpers/redis.js';
import { Progress, RateWindow } from '../../cli/progress.js';
import { ClassState } from '../../schemas/class-state.js';

/** A stream that records what was written, as a terminal or as a pipe. */
function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const out = {
    isTTY,
    columns: 200,
    write(s: string) {
      chunks.push(s);
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { out, text: () => chunks.join(''), chunks };
}

function state(done: number, total: number, status = 'transferring'): ClassState {
  return ClassState.parse({
    classId: 'c',
    manifestUrl: 'http://127.0.0.1/m.m3u8',
    status,
    crawled: 1,
    total,
    done,
    copied: done,
    bytes: done * 1000,
  });
}

describe('progress', () => {
  test('a batch of 100 files a second reads as about 100 files/s, never 0 or 500, once started', () => {
    // Counts move a batch at a time; samples come five times a second.
    const w = new RateWindow(10_000);
    const rates: number[] = [];
    for (let ms = 0; ms <= 30_000; ms += 200) {
      w.add(ms, Math.floor(ms / 1000) * 100);
      const r = w.rate();
      if (ms >= 3000 && r !== undefined) rates.push(r);
    }
    assert.ok(rates.length > 100);
    for (const r of rates) assert.ok(r >= 60 && r <= 140, `rate ${r}`);
  });

  test('on a terminal: a bar, percentage, files, bytes, rates and ETA, redrawn in place; the end gives the averages', () => {
    let now = 0;
    const { out, text, chunks } = sink(true);
    const p = new Progress(out, true, () => now);
    for (let s = 0; s <= 10; s++) {
      now = s * 1000;
      p.update([state(s * 100, 1000, s === 10 ? 'transferred' : 'transferring')]);
    }
    p.end();
    assert.ok(chunks.slice(0, -2).every((c) => c.startsWith('\r\x1b[K')));
    const lines = text().split('\r\x1b[K');
    assert.match(
      lines[6]!,
      /^\[=+> *\] {3}50%  500\/1000 files  500\.0 KB  100 files\/s  100\.0 KB\/s  ETA 5s  classes 0\/1  5s$/,
    );
    assert.match(text(), /1000 files, 1\.0 MB in 10s: average 100 files\/s, 100\.0 KB\/s\n$/);
    assert.doesNotMatch(text().split('\n').at(-2)!, / 0 files\/s/);
  });

  test('not on a terminal: a plain line every few seconds, then the averages', () => {
    let now = 0;
    const { out, text } = sink(false);
    const p = new Progress(out, true, () => now, 5000);
    for (let ms = 0; ms <= 12_000; ms += 200) {
      now = ms;
      p.update([state(Math.floor(ms / 1000) * 10, 120)]);
    }
    p.end();
    const lines = text().trim().split('\n');
    assert.equal(lines.length, 3, text());
    assert.ok(
      lines.slice(0, 2).every((l) => !l.includes('\r') && !l.includes('[')),
      text(),
    );
    assert.match(lines[1]!, /^ 83%  100\/120 files .* 10 files\/s/);
    assert.match(lines[2]!, /^120 files, 120\.0 KB in 12s: average 10 files\/s/);
  });

  test('nothing moved (a finished class reported again): no averages line', () => {
    const { out, text } = sink(false);
    const p = new Progress(out, true);
    p.update([state(5, 5, 'transferred')]);
    p.end();
    assert.doesNotMatch(text(), /average/);
  });
});

describe('progress of colony transfer, on a terminal and not', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  let origin: SampleOrigin;
  let dir: string;
  const prefixes: string[] = [];
  const lib = { classes: 1, variants: 2, segmentsPerVariant: 150, segmentBytes: 1000 };
  const env = () => {
    const prefix = uniquePrefix('progress');
    prefixes.push(prefix);
    return {
      REDIS_URL: TEST_REDIS_URL,
      COLONY_PREFIX: prefix,
      COLONY_CONCURRENCY: '4',
      COLONY_BATCH_SIZE: '10',
      COLONY_BLOCK_MS: '100',
    };
  };
  before(async () => {
    origin = await startSampleOrigin({ synthetic: lib, segmentDelayMs: 20 });
    dir = await mkdtemp(join(tmpdir(), 'colony-progress-'));
  });
  after(async () => {
    await origin.close();
    for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
    await rm(dir, { recursive: true, force: true });
  });
  const files = 1 + lib.variants * (1 + lib.segmentsPerVariant);

  test(
    'under a pseudo-terminal: the bar is redrawn in place and the last line is the averages',
    { skip: !hasScript && 'script (util-linux) not installed' },
    async () => {
      const args = [
        'transfer',
        `${origin.url}/synthetic/c0/master.m3u8`,
        '--dest',
        join(dir, 'tty'),
      ];
      const command = [process.execPath, COLONY_BIN, ...args].map(shellQuote).join(' ');
      const child = spawn('script', ['-qfec', command, '/dev/null'], {
        env: { ...process.env, ...env(), COLUMNS: '160' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const run = await collect(child, 60_000);
      assert.equal(run.code, 0, run.stdout);
      const redraws = run.stdout.split('\r\x1b[K');
      assert.ok(redraws.length > 3, run.stdout);
      assert.ok(
        redraws.some((l) => /^\[[= >]{20}\] +\d+%  \d+\/\d+ files .* files\/s .* ETA /.test(l)),
        run.stdout,
      );
      assert.match(
        run.stdout,
        new RegExp(`${files} files, .* in [\\d.]+s: average [\\d.]+ files/s`),
      );
      assert.doesNotMatch(run.stdout, / 0 files\/s/);
    },
  );

  test('into a pipe: plain lines, no escape codes, and the averages', async () => {
    const run = await runColony(
      ['transfer', `${origin.url}/synthetic/c0/master.m3u8`, '--dest', join(dir, 'pipe')],
      env(),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /\r|\x1b/);
    assert.match(run.stderr, new RegExp(`^${files} files, .* average [\\d.]+ files/s`, 'm'));
    assert.match(run.stderr, /^ok {3}\S+  \d+ files: /m);
  });
});

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
