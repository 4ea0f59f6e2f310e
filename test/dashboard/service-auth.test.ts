import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startServiceHttp } from '../../cli/http-server.js';
import { startServiceRoutes } from '../../cli/service-routes.js';
import { silentLogger } from '../../streams/log.js';
import {
  BEARER,
  POLL,
  TOKEN,
  call,
  fakeAssets,
  getWithHost,
  host,
  http,
  useService,
} from './service-harness.js';

// Who may see the dashboard: the token, the login cookie, same-origin POSTs, loopback names.
useService();

describe('the token', () => {
  test('every path but /healthz, /readyz and the webhook needs it', async () => {
    // Prepare
    const guarded = [
      '/',
      '/api/classes',
      '/api/classes/x',
      '/api/pipeline',
      '/api/throughput',
      '/api/dead-letters',
      '/api/events',
      '/api/session',
      '/metrics',
      '/assets/app.js',
    ];

    // Act
    const anonymous = await Promise.all(
      guarded.map((p) => call(p, { headers: { accept: 'application/json' } })),
    );
    const wrong = await Promise.all(
      guarded.map((p) => call(p, { headers: { authorization: 'Bearer nope-nope-nope-nope' } })),
    );
    const browser = await call('/', { headers: { accept: 'text/html' } });
    const open = await Promise.all(['/healthz', '/readyz'].map((p) => call(p)));
    const webhook = await call('/hooks/class-completed', { method: 'POST', body: '{}' });
    const authorised = await Promise.all(
      guarded.filter((p) => p !== '/api/events').map((p) => call(p, { headers: BEARER })),
    );

    // Assess
    assert.deepEqual(
      anonymous.map((r) => r.status),
      guarded.map(() => 401),
    );
    assert.equal(anonymous[1]!.headers.get('www-authenticate'), 'Bearer realm="colony"');
    assert.deepEqual(
      wrong.map((r) => r.status),
      guarded.map(() => 401),
    );
    assert.equal(browser.status, 303);
    assert.equal(browser.headers.get('location'), '/login');
    assert.deepEqual(
      open.map((r) => r.status),
      [200, 200],
    );
    assert.equal(webhook.status, 401, 'the webhook answers for its signature, not the token');
    assert.match(webhook.text, /signature/i);
    assert.deepEqual(
      authorised.map((r) => r.status),
      [200, 200, 404, 200, 200, 200, 200, 200, 200],
    );
  });

  test('the login form sets an HttpOnly SameSite cookie that opens the dashboard; a wrong token does not', async () => {
    // Prepare
    const form = (token: string) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: http.url },
      body: new URLSearchParams({ token }).toString(),
    });

    // Act
    const page = await call('/login');
    const wrong = await call('/login', form('not-the-token-at-all'));
    const right = await call('/login', form(TOKEN));
    const cookie = right.headers.get('set-cookie') ?? '';
    const withCookie = await call('/api/classes', { headers: { cookie: cookie.split(';')[0]! } });
    const session = await call('/api/session', { headers: { cookie: cookie.split(';')[0]! } });
    const forged = await call('/api/classes', { headers: { cookie: 'colony_session=forged' } });
    const logout = await call('/logout', {
      method: 'POST',
      headers: { cookie: cookie.split(';')[0]!, origin: http.url },
    });

    // Assess
    assert.equal(page.status, 200);
    assert.match(page.text, /<form method="post" action="\/login"/);
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    assert.match(wrong.text, /Wrong token/);
    assert.equal(right.status, 303);
    assert.equal(right.headers.get('location'), '/');
    assert.match(cookie, /^colony_session=[^;]+; HttpOnly; SameSite=Strict; Path=\//);
    assert.ok(!cookie.includes(TOKEN), 'the cookie is not the token');
    assert.equal(withCookie.status, 200);
    assert.deepEqual(session.json(), { credential: 'cookie' });
    assert.equal(forged.status, 401);
    assert.equal(logout.status, 303);
    assert.equal(logout.headers.get('location'), '/login');
    assert.match(logout.headers.get('set-cookie') ?? '', /^colony_session=; .*Max-Age=0/);
  });

  test('a POST with the cookie must come from this origin, with a JSON body; a bearer POST needs neither', async () => {
    // Prepare
    const login = await call('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: http.url },
      body: `token=${TOKEN}`,
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const json = { 'content-type': 'application/json' };
    const purge = (headers: Record<string, string>) =>
      call('/api/dead-letters/purge', { method: 'POST', headers, body: '{"ids":["1-1"]}' });

    // Act
    const noOrigin = await purge({ cookie, ...json });
    const otherOrigin = await purge({ cookie, ...json, origin: 'https://evil.example' });
    const crossSite = await purge({ cookie, ...json, 'sec-fetch-site': 'cross-site' });
    const formBody = await purge({ cookie, origin: http.url, 'content-type': 'text/plain' });
    const sameOrigin = await purge({
      cookie,
      ...json,
      origin: http.url,
      'sec-fetch-site': 'same-origin',
    });
    const bearer = await purge({ ...BEARER, ...json });

    // Assess
    assert.equal(noOrigin.status, 403);
    assert.match(noOrigin.text, /neither Origin nor Sec-Fetch-Site/);
    assert.equal(otherOrigin.status, 403);
    assert.match(otherOrigin.text, /cross-origin/);
    assert.equal(crossSite.status, 403);
    assert.equal(formBody.status, 403);
    assert.match(formBody.text, /JSON body/);
    assert.equal(sameOrigin.status, 200, sameOrigin.text);
    assert.deepEqual(sameOrigin.json(), { selected: 0, done: 0 });
    assert.equal(bearer.status, 200, bearer.text);
  });

  test('the pages say what may run: no inline script, no other origin, no framing', async () => {
    // Act
    const index = await call('/', { headers: BEARER });
    const script = await call('/assets/app.js', { headers: BEARER });
    const again = await call('/assets/app.js', {
      headers: { ...BEARER, 'if-none-match': script.headers.get('etag') ?? '' },
    });

    // Assess
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /text\/html/);
    const csp = index.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    assert.equal(again.status, 304);
  });
});

describe('without a token (loopback only)', () => {
  test('only loopback names are answered, and POSTs still need this origin', async () => {
    // Prepare
    const routes = await startServiceRoutes({
      redis: host.redis,
      keys: host.deps.keys,
      config: { dashboardToken: undefined },
      logger: silentLogger,
      stages: [],
      assetsDir: await fakeAssets(),
      poll: POLL,
    });
    const open = await startServiceHttp({
      port: 0,
      host: '127.0.0.1',
      redis: host.redis,
      deps: host.deps,
      info: {},
      routes,
    });
    try {
      const port = new URL(open.url).port;

      // Act
      const loopback = await getWithHost(open.url, '/api/classes', `127.0.0.1:${port}`);
      const localhost = await getWithHost(open.url, '/api/classes', `localhost:${port}`);
      const v6 = await getWithHost(open.url, '/api/classes', `[::1]:${port}`);
      const rebound = await getWithHost(open.url, '/api/classes', `evil.example:${port}`);
      const metrics = await getWithHost(open.url, '/metrics', `evil.example:${port}`);
      const forged = await call('/api/dead-letters/purge', {
        base: open.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
        body: '{"all":true}',
      });

      // Assess
      assert.deepEqual([loopback, localhost, v6, rebound, metrics], [200, 200, 200, 421, 421]);
      assert.equal(forged.status, 403);
    } finally {
      await open.close();
    }
  });
});
