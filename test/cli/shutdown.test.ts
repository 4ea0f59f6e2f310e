import assert from 'node:assert/strict';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { collect, runColony, spawnColony } from '../helpers/cli.js';
import { TEST_REDIS_URL, deletePrefix, uniquePrefix, waitFor } from '../helpers/redis.js';

// Each run is killed after BOUND_MS: a run still alive then failed the test (a bound, not a
// speed target: what is asserted happens within a second or two).
const BOUND_MS = 30_000;

const prefixes: string[] = [];
let dir: string;

function env(extra: Record<string, string> = {}) {
  const prefix = uniquePrefix('stop');
  prefixes.push(prefix);
  return { REDIS_URL: TEST_REDIS_URL, COLONY_PREFIX: prefix, COLONY_BLOCK_MS: '100', ...extra };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'colony-stop-'));
});

after(async () => {
  for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
  await rm(dir, { recursive: true, force: true });
});

describe('start-up and shutdown', () => {
  test('serve --port on a port in use: one line, exit 2, and the process ends', async (t) => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => taken.close(() => r())));
    const port = (taken.address() as { port: number }).port;

    const run = await runColony(['serve', '--port', String(port), '-q'], env(), BOUND_MS);

    assert.equal(run.signal, null, `still running after ${BOUND_MS} ms: ${run.stderr}`);
    assert.equal(run.code, 2, run.stderr);
    const line = `colony: cannot listen on 127.0.0.1:${port} (--port): the port is in use`;
    assert.equal(run.stderr.trim().split('\n').at(-1), line, run.stderr);
    assert.doesNotMatch(run.stderr, /\n\s+at |EADDRINUSE/);
  });

  test('SIGTERM while serve is still loading its modules: a clean stop, exit 0', async () => {
    // A module hook holds back the load of the commands (cli/run.js) and says when it is asked
    // for: by then main.js has run, and the signal lands while everything else is loading.
    const marker = join(dir, 'loading');
    const hooks = join(dir, 'hooks.mjs');
    await writeFile(
      hooks,
      `import { writeFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (specifier === './run.js' && context.parentURL?.endsWith('/cli/main.js')) {
    writeFileSync(${JSON.stringify(marker)}, '');
    await new Promise((r) => setTimeout(r, 1000));
  }
  return next(specifier, context);
}
`,
    );
    const register = join(dir, 'register.mjs');
    await writeFile(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const serve = spawnColony(['serve', '-q'], { ...env(), NODE_OPTIONS: `--import ${register}` });
    const done = collect(serve, BOUND_MS);
    await waitFor(
      () =>
        access(marker).then(
          () => true,
          () => undefined,
        ),
      BOUND_MS,
      'the load',
    );

    serve.kill('SIGTERM');
    const run = await done;

    assert.equal(run.signal, null, 'not killed by the signal');
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });

  describe('signals', () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      test(`a second ${signal} exits at once while the first waits for copies in flight`, async (t) => {
        const origin = await hangingOrigin();
        t.after(() => origin.close());
        const child = spawnColony(
          ['transfer', `${origin.url}/index.m3u8`, '--dest', join(dir, signal), '-q'],
          env({ COLONY_COPY_TIMEOUT_MS: '120000' }),
        );
        const done = collect(child, BOUND_MS);
        await waitFor(
          async () => (origin.held() > 0 ? true : undefined),
          BOUND_MS,
          'a copy in flight',
        );

        child.kill(signal);
        await new Promise((r) => setTimeout(r, 50));
        child.kill(signal);
        const run = await done;

        assert.notEqual(run.code, null, `did not exit by itself: ${run.stderr}`);
        assert.equal(run.code, signal === 'SIGINT' ? 130 : 143, run.stderr);
        assert.match(run.stderr, new RegExp(`^colony: second ${signal}: exiting now$`, 'm'));
      });
    }
  });
});

/** A media playlist whose segments never come: every copy stays in flight until closed. */
async function hangingOrigin() {
  const held = new Set<ServerResponse>();
  const server = createHttpServer((req, res) => {
    if (req.url === '/index.m3u8') {
      const segments = Array.from({ length: 10 }, (_, i) => `#EXTINF:4,\ns${i}.ts`).join('\n');
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
      res.end(`#EXTM3U\n#EXT-X-TARGETDURATION:4\n${segments}\n#EXT-X-ENDLIST\n`);
      return;
    }
    held.add(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => held.size,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
