/**
 * The dashboard at scale: 2,000 classes and 16 million files of synthetic state in a throwaway
 * redis-server, served by the real service routes, opened in headless chromium. Measures what
 * the server costs (first read, polls, API answers) and what the page costs (first view, an
 * update, drawing glyphs, a scroll), and prints the figures.
 *
 *   npm run bench:dashboard        (BENCH_CLASSES=500 BENCH_FILES_PER_CLASS=2000 for a quick run)
 */
import { startServiceHttp } from '../cli/http-server.js';
import { startLocalRedis } from '../cli/local-redis.js';
import { startServiceRoutes } from '../cli/service-routes.js';
import { loadConfig } from '../schemas/config.js';
import { ClassStore } from '../streams/class-store.js';
import { Keys } from '../streams/keys.js';
import { silentLogger } from '../streams/log.js';
import { Publisher } from '../streams/publisher.js';
import { connectRedis } from '../streams/redis.js';
import { launchBrowser, waitInPage } from './browser.js';
import { advance, writeSyntheticState } from './synthetic-state.js';

const CLASSES = Number(process.env.BENCH_CLASSES ?? 2000);
const FILES = Number(process.env.BENCH_FILES_PER_CLASS ?? 8000);
const RUNNING = Math.min(80, Math.round(CLASSES * 0.04));

const ms = (ns: bigint) => Number(ns) / 1e6;
const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = process.hrtime.bigint();
  const v = await fn();
  return [v, ms(process.hrtime.bigint() - t)];
};
function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { n: s.length, median: at(0.5), p95: at(0.95), max: s[s.length - 1] ?? NaN };
}
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const rows: string[][] = [];
const row = (what: string, s: { n: number; median: number; p95: number; max: number }, note = '') =>
  rows.push([what, String(s.n), f1(s.median), f1(s.p95), f1(s.max), note]);

const redis = await startLocalRedis();
const conn = await connectRedis(redis.url, 'bench-dashboard');
try {
  const keys = new Keys('bench-dash');
  const config = {
    ...loadConfig({ REDIS_URL: redis.url }),
    prefix: keys.prefix,
    dashboardToken: undefined,
  };
  const [running, writeMs] = await time(() =>
    writeSyntheticState(conn, keys, {
      classes: CLASSES,
      filesPerClass: FILES,
      running: RUNNING,
      failed: 50,
      queued: 20,
    }),
  );
  const memory = Number(/used_memory:(\d+)/.exec(await conn.info('memory'))![1]);
  process.stdout.write(
    `synthetic state: ${CLASSES} classes x ${FILES} files = ${((CLASSES * FILES) / 1e6).toFixed(1)} M files, ${RUNNING} running; written in ${(writeMs / 1000).toFixed(1)} s; Redis uses ${(memory / 1e6).toFixed(1)} MB\n`,
  );

  // Server: the first read, then polls of the running classes and of every class.
  const [routes, startMs] = await time(() =>
    startServiceRoutes({ redis: conn, keys, config, logger: silentLogger, stages: [] }),
  );
  if (!routes.dashboard.built) throw new Error('dashboard not built: run npm run build:dashboard');
  const http = await startServiceHttp({
    port: 0,
    host: '127.0.0.1',
    redis: conn,
    deps: {
      classes: new ClassStore(conn, keys),
      publisher: new Publisher(conn, keys),
      config,
      logger: silentLogger,
    },
    info: {},
    routes,
  });
  const state = routes.dashboard.state;
  row('server: first read of every class (start)', stats([startMs]));
  const activePolls: number[] = [];
  const fullPolls: number[] = [];
  for (let i = 0; i < 10; i++) activePolls.push((await time(() => state.poll(false)))[1]);
  for (let i = 0; i < 5; i++) fullPolls.push((await time(() => state.poll(true)))[1]);
  row(`server: poll of the ${RUNNING} running classes`, stats(activePolls), 'every second');
  row(`server: poll of all ${CLASSES} classes`, stats(fullPolls), 'every minute (safety net)');

  const api = async (path: string, gzip: boolean) => {
    const t = process.hrtime.bigint();
    const res = await fetch(`${http.url}${path}`, {
      headers: gzip ? {} : { 'accept-encoding': 'identity' },
    });
    const body = Buffer.from(await res.arrayBuffer());
    // fetch decompresses: the bytes on the wire are what content-length says.
    return {
      ms: ms(process.hrtime.bigint() - t),
      bytes: Number(res.headers.get('content-length') ?? body.length),
    };
  };
  const list: number[] = [];
  let listBytes = 0;
  for (let i = 0; i < 10; i++) {
    const r = await api('/api/classes', false);
    list.push(r.ms);
    listBytes = r.bytes;
  }
  const gzipped = await api('/api/classes', true);
  row(
    'GET /api/classes',
    stats(list),
    `${(listBytes / 1024).toFixed(0)} KiB of JSON, ${(gzipped.bytes / 1024).toFixed(0)} KiB gzipped`,
  );
  const detail: number[] = [];
  let detailBytes = 0;
  for (let i = 0; i < 20; i++) {
    const r = await api(`/api/classes/${running[i % running.length]!.classId}`, false);
    detail.push(r.ms);
    detailBytes = r.bytes;
  }
  row(
    `GET /api/classes/<id> (${FILES} files)`,
    stats(detail),
    `${(detailBytes / 1024).toFixed(1)} KiB with both bitfields`,
  );

  // Browser: the first view, five times, each in a new page.
  const browser = await launchBrowser({ width: 1400, height: 900 });
  try {
    const firstViews: number[] = [];
    for (let i = 0; i < 6; i++) {
      const page = await browser.context.newPage();
      await page.goto(http.url);
      await waitInPage(page, "performance.getEntriesByName('colony:first-view').length > 0");
      const at = (await page.evaluate(
        "performance.getEntriesByName('colony:first-view')[0].startTime",
      )) as number;
      if (i > 0) firstViews.push(at); // the first load warms the browser's caches
      await page.close();
    }
    row(
      'browser: first view (navigation to rows drawn)',
      stats(firstViews),
      'warm server, fresh page',
    );

    const page = await browser.context.newPage();
    await page.goto(http.url);
    await waitInPage(page, "performance.getEntriesByName('colony:first-view').length > 0");
    // Let the visible rows' bitfields arrive and draw.
    await waitInPage(
      page,
      "document.querySelectorAll('canvas.glyphs[data-loaded=yes]').length > 0",
    );
    await page.waitForTimeout(1500);
    const dom = (await page.evaluate(
      "({ rows: document.querySelectorAll('.class-row').length, canvases: document.querySelectorAll('canvas.glyphs').length, nodes: document.getElementsByTagName('*').length })",
    )) as { rows: number; canvases: number; nodes: number };

    // Updates: every running class lands 40 files a second for 15 seconds.
    const draws = (await page.evaluate(
      "performance.getEntriesByName('colony:glyphs-draw').map((m) => m.duration)",
    )) as number[];
    await page.evaluate('performance.clearMeasures()');
    for (let s = 0; s < 15; s++) {
      await advance(conn, keys, running, FILES, 40);
      await page.waitForTimeout(1000);
    }
    const measures = (await page.evaluate(
      "performance.getEntriesByType('measure').map((m) => [m.name, m.duration])",
    )) as [string, number][];
    const of = (name: string) => measures.filter(([n]) => n === name).map(([, d]) => d);
    row(
      `browser: an update (${RUNNING} classes changed: event to rows re-rendered)`,
      stats(of('colony:update')),
    );
    row(
      `browser: redraw of a class's glyphs on new bits`,
      stats(of('colony:glyphs-update')),
      `${FILES} cells compared, changed ones drawn`,
    );
    row(
      `browser: first draw of a class's glyphs`,
      stats([...draws, ...of('colony:glyphs-draw')]),
      `${FILES} cells`,
    );

    // Scrolling: jumps to places in the list, timed to the next painted frame.
    const jumps: number[] = [];
    for (const at of [0.25, 0.5, 0.75, 0.1, 0.9, 0.6]) {
      jumps.push(
        (await page.evaluate(
          `new Promise((resolve) => { const el = document.querySelector('.class-scroller'); const t = performance.now(); el.scrollTop = el.scrollHeight * ${at}; requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t))); })`,
        )) as number,
      );
      await page.waitForTimeout(300);
    }
    row('browser: scroll jump to a painted frame', stats(jumps), 'two animation frames included');
    const heap = (await page.evaluate(
      'performance.memory ? performance.memory.usedJSHeapSize : 0',
    )) as number;
    process.stdout.write(
      `page: ${dom.rows} class rows and ${dom.canvases} glyph canvases in the DOM (of ${CLASSES} classes), ${dom.nodes} elements, JS heap ${(heap / 1e6).toFixed(1)} MB\n\n`,
    );
  } finally {
    await browser.close();
    await http.close();
  }
  process.stdout.write(
    '| what | n | median ms | p95 ms | max ms | note |\n| --- | --: | --: | --: | --: | --- |\n',
  );
  for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
} finally {
  conn.disconnect();
  await redis.stop();
}
