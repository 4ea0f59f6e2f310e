import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium, as installed by apt (`.ci/run` installs it when missing). */
export function chromiumPath(): string {
  return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
}

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Headless chromium with a fresh profile of its own, removed on close: the browser test and the
 * dashboard benchmark share it. Playwright keeps the profile folder itself (`--user-data-dir`
 * may not be passed as a flag), hence a persistent context on a new temporary folder.
 */
export async function launchBrowser(viewport = { width: 1400, height: 900 }): Promise<{
  context: BrowserContext;
  close(): Promise<void>;
}> {
  const profile = await mkdtemp(join(tmpdir(), 'colony-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until a JavaScript expression is truthy in the page, evaluating it from here every
 * 50 ms. Not page.waitForFunction: that compiles a string predicate inside the page, which the
 * dashboard's Content-Security-Policy (no unsafe-eval) rightly refuses.
 */
export async function waitInPage(
  page: Page,
  expression: string,
  timeoutMs = 30_000,
): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value: unknown = await page.evaluate(expression);
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting in the page for: ${expression}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
