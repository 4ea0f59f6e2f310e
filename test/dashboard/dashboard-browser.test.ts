import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { startSampleOrigin } from '../../cli/sample-origin.js';
import { signWebhook } from '../../consumers/requests/webhook-signature.js';
import { createHandler } from '../../lambda/handler.js';
import { ClassList } from '../../schemas/dashboard.js';
import { spawnColony } from '../helpers/cli.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/redis.js';
import { startLambdaEndpoint } from '../lambda/lambda-endpoint.js';
import { ARTIFACTS, GLYPH_READER, count, launchBrowser, waitInPage } from './browser.js';

const SECRET = 'whsec-browser-0123456789';
const TOKEN = 'browser-token-0123456789abcdef';
/** Each synthetic class: a master, 2 variant playlists, 2 x 10 segments = 23 files, 5 batches. */
const LIB = { classes: 3, variants: 2, segmentsPerVariant: 10, segmentBytes: 1500 };
const FILES = 23;
/** Class A's batches holding files from this ordinal on wait until the test lets them go. */
const HELD_FROM = 10;

type Invocation = { files: { ordinal: number; url: string }[] };

/** Whether an invocation copies files of synthetic class `c` (the payload names no class). */
const ofClass = (payload: unknown, c: number) =>
  (payload as Invocation).files.some((f) => f.url.includes(`/synthetic/c${c}/`));

/** Starts `colony serve` and resolves with its URL once it logs that it listens. */
async function startServe(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; log: string[] }> {
  const child = spawnColony(['serve', '--port', '0'], env);
  const log: string[] = [];
  let buffer = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serve did not start: ${log.join('')}`)),
      30_000,
    );
    child.stderr!.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        log.push(line);
        try {
          const o = JSON.parse(line) as { msg?: string; url?: string };
          if (o.msg === 'listening' && o.url) {
            clearTimeout(timer);
            resolve(o.url);
          }
        } catch {
          // not a JSON line: kept in the log, which the test checks
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${log.join('\n')}`)));
  });
  return { child, url, log };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** The class's glyphs as the page drew them (see GLYPH_READER). */
const glyphsOf = (page: Page, classId: string) =>
  page.evaluate(`window.colonyGlyphs(${JSON.stringify(classId)})`) as Promise<string | undefined>;

/** Waits until the class's glyphs are drawn and `test` (an expression on `g`) holds. */
const glyphsUntil = (page: Page, classId: string, test: string) =>
  waitInPage(
    page,
    `((g) => g !== undefined && (${test}))(window.colonyGlyphs(${JSON.stringify(classId)}))`,
  );

/** Waits until the dead-letter panel lists `n` letters. */
const letters = (page: Page, n: number) =>
  waitInPage(page, `document.querySelectorAll('.letter').length === ${n}`);

/** Opens a finished (collapsed) class's row and waits for its glyphs. */
async function expand(page: Page, classId: string): Promise<void> {
  await page.locator(`.class-row[data-class-id="${classId}"] .summary`).click();
  await glyphsUntil(page, classId, 'true');
}

test('the dashboard in chromium: glyphs turn ◉ as files land, pause holds the view, a dead letter is retried from the page', async (t) => {
  // Prepare: an origin, the real copy handler behind a loopback Lambda API (which holds class A's
  // later batches until released, and crashes on class B while broken), and colony serve.
  const cleanups: (() => Promise<void>)[] = [];
  let passed = false;
  t.after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });
  const origin = await startSampleOrigin({ synthetic: LIB });
  cleanups.push(() => origin.close());
  const out = await mkdtemp(join(tmpdir(), 'colony-browser-'));
  cleanups.push(() => rm(out, { recursive: true, force: true }));
  const prefix = uniquePrefix('browser');
  cleanups.push(() => deletePrefix(TEST_REDIS_URL, prefix));
  const aws = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' };
  Object.assign(process.env, aws);
  const copy = createHandler();
  cleanups.push(() => copy.close());
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  let broken = false;
  const endpoint = await startLambdaEndpoint({
    functionName: 'colony-copy',
    handler: async (event, context) => {
      const e = event as Invocation;
      if (ofClass(e, 0) && e.files.some((f) => f.ordinal >= HELD_FROM)) await held;
      return copy.handler(event, context);
    },
    inject: (_, payload) => (broken && ofClass(payload, 1) ? 'unhandled' : undefined),
  });
  cleanups.push(async () => {
    release();
    await endpoint.close();
  });
  const serve = await startServe({
    ...aws,
    REDIS_URL: TEST_REDIS_URL,
    COLONY_PREFIX: prefix,
    COLONY_DEST: `file://${out}`,
    COLONY_WEBHOOK_SECRET: SECRET,
    COLONY_DASHBOARD_TOKEN: TOKEN,
    COLONY_LOG_FORMAT: 'json',
    COLONY_RUNTIME: 'lambda',
    COLONY_LAMBDA_FUNCTION: 'colony-copy',
    COLONY_LAMBDA_ENDPOINT: endpoint.url,
    COLONY_BATCH_SIZE: '5',
    COLONY_MAX_DELIVERIES: '1',
    COLONY_VISIBILITY_TIMEOUT_MS: '30000',
    COLONY_BLOCK_MS: '200',
    COLONY_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  cleanups.push(() => stop(serve.child));
  const browser = await launchBrowser();
  cleanups.push(() => browser.close());
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await page.addInitScript(GLYPH_READER);
  const errors: string[] = [];
  const elsewhere: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on(
    'console',
    (m) => m.type() === 'error' && errors.push(`${m.text()} ${JSON.stringify(m.location())}`),
  );
  page.on('request', (r) => !r.url().startsWith(serve.url) && elsewhere.push(r.url()));
  const send = async (classId: string, c: number) => {
    const body = JSON.stringify({
      classId,
      manifestUrl: `${origin.url}/synthetic/c${c}/master.m3u8`,
      title: `Class ${classId}`,
    });
    const res = await fetch(`${serve.url}/hooks/class-completed`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-colony-signature': signWebhook(SECRET, body),
      },
      body,
    });
    assert.equal(res.status, 202, await res.text());
  };
  const row = (classId: string) => page.locator(`.class-row[data-class-id="${classId}"]`);
  const artifacts = fileURLToPath(ARTIFACTS);
  await mkdir(artifacts, { recursive: true });
  // On failure: what the page showed, what it said, and what the service logged.
  cleanups.push(async () => {
    if (passed) return;
    await page.screenshot({ path: join(artifacts, 'dashboard-failure.png') }).catch(() => {});
    const text = await page
      .locator('body')
      .innerText()
      .catch(() => '(no page)');
    process.stderr.write(
      `page errors: ${errors.join('\n')}\npage url: ${page.url()}\npage: ${text}\nserve log:\n${serve.log.join('\n')}\n`,
    );
  });

  // Act 1: log in with the token.
  await page.goto(serve.url);
  assert.match(page.url(), /\/login$/);
  await page.fill('input[name=token]', TOKEN);
  await page.click('button[type=submit]');
  await page.waitForSelector('.connection[data-connection=live]');

  // Act 2: class A arrives by webhook; its first two batches land, the rest is held.
  await send('browser-a', 0);
  const seen: string[] = [];
  const partial = await waitFor(
    async () => {
      const g = await glyphsOf(page, 'browser-a');
      if (g && seen[seen.length - 1] !== g) seen.push(g);
      return g && count(g, '◉') === HELD_FROM ? g : undefined;
    },
    30_000,
    'the first batches of class A drawn ◉',
  );
  await page.screenshot({ path: join(artifacts, 'dashboard-progress.png') });
  release();
  await row('browser-a')
    .and(page.locator('[data-status=transferred]'))
    .waitFor({ timeout: 30_000 });
  await expand(page, 'browser-a');
  await glyphsUntil(page, 'browser-a', `!g.includes('◯')`);
  const landed = await glyphsOf(page, 'browser-a');

  // Assess 2
  assert.equal(partial.length, FILES, `one glyph per file: ${partial}`);
  assert.equal(
    partial,
    '◉'.repeat(HELD_FROM) + '◯'.repeat(FILES - HELD_FROM),
    `seen: ${seen.join(' | ')}`,
  );
  assert.ok(
    seen.every((g) => count(g, '✖') === 0),
    'no file of A failed',
  );
  assert.equal(landed, '◉'.repeat(FILES));
  assert.match(await row('browser-a').locator('.files').innerText(), /23\/23 files/);

  // Act 3: paused, a new class does not appear until resumed.
  await page.click('button.pause');
  await page.waitForSelector('.connection[data-connection=paused]');
  await send('browser-c', 2);
  await waitFor(
    async () => {
      const res = await fetch(`${serve.url}/api/classes`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const list = ClassList.parse(await res.json());
      return list.classes.some((c) => c.classId === 'browser-c') ? true : undefined;
    },
    15_000,
    'class C known to the service',
  );
  const whilePaused = await row('browser-c').count();
  await page.click('button.pause');
  await row('browser-c').waitFor({ timeout: 15_000 });
  await page.waitForSelector('.connection[data-connection=live]');

  // Assess 3
  assert.equal(whilePaused, 0, 'a paused page shows nothing new');

  // Act 4: class B's function crashes: its batches are dead-lettered and its files failed.
  broken = true;
  await send('browser-b', 1);
  await row('browser-b').and(page.locator('[data-status=failed]')).waitFor({ timeout: 60_000 });
  await letters(page, 5);
  await expand(page, 'browser-b');
  const failedGlyphs = await glyphsOf(page, 'browser-b');
  const reason = await page.locator('.letter .reason').first().innerText();
  await page.screenshot({ path: join(artifacts, 'dashboard-dead-letters.png') });

  // Act 5: the function recovers; one dead letter is retried from its button, the rest with "Retry all".
  broken = false;
  await page.locator('.letter .retry-one').first().click();
  await letters(page, 4);
  const message = await page.locator('.dead-letters .message').innerText();
  await page.getByRole('button', { name: 'Retry all' }).click();
  await letters(page, 0);
  await row('browser-b')
    .and(page.locator('[data-status=transferred]'))
    .waitFor({ timeout: 60_000 });
  await glyphsUntil(page, 'browser-b', `g === '◉'.repeat(${FILES})`);
  await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });

  // Assess 4 and 5
  assert.equal(failedGlyphs, '✖'.repeat(FILES), 'every file of B failed, drawn ✖');
  assert.match(reason, /delivered 2 times \(max 1\)/);
  assert.match(message, /requeued 1 of 1/);
  assert.deepEqual(errors, [], 'no errors in the page');
  assert.deepEqual(elsewhere, [], 'nothing fetched from anywhere but the service');
  // The service logged JSON lines, the stages' ones with the trace of their class.
  const lines = serve.log.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.every((l) => typeof l.msg === 'string' && typeof l.level === 'string'));
  const crawled = lines.filter((l) => l.msg === 'class crawled');
  assert.equal(crawled.length, 3, serve.log.join('\n'));
  for (const l of crawled) {
    assert.equal(l.stage, 'crawler');
    assert.match(String(l.trace_id), /^[0-9a-f]{32}$/);
    assert.match(String(l.class_id), /^browser-[abc]$/);
  }
  passed = true;
});
