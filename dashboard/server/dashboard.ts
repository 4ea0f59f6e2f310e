import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Keys } from '../../streams/keys.js';
import type { Logger } from '../../streams/log.js';
import type { ColonyRedis } from '../../streams/redis.js';
import { dashboardApi } from './api.js';
import { Assets } from './assets.js';
import { DashboardAuth, SESSION_COOKIE, type Credential } from './auth.js';
import { exposeClusterMetrics } from './cluster-metrics.js';
import { EventHub } from './event-hub.js';
import { readBody, send, sendJson } from './http.js';
import { loginPage } from './login-page.js';
import { DashboardState, type DashboardStateOptions } from './state.js';

/** What the login page needs before anyone logged in. */
const PUBLIC_ASSETS = new Set(['/assets/app.css', '/assets/favicon.svg', '/favicon.ico']);

export type DashboardOptions = {
  redis: ColonyRedis;
  keys: Keys;
  logger: Logger;
  /** COLONY_DASHBOARD_TOKEN; without it only loopback names are answered. */
  token: string | undefined;
  /** Where the built front end is (dist/dashboard/public). */
  assetsDir: string;
  poll?: Pick<DashboardStateOptions, 'pollMs' | 'fullScanEvery' | 'pipelineMs'>;
};

export type Dashboard = {
  state: DashboardState;
  auth: DashboardAuth;
  /** Whether the front end's files were found. */
  built: boolean;
  /**
   * Answers a request for the dashboard, its API, its event stream or its login, after checking
   * the token (and, for POSTs, that another site did not send it). False when the path is not
   * the dashboard's.
   */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
  /** How a request is authorised (for the routes beside the dashboard, such as /metrics). */
  authorise(req: IncomingMessage, res: ServerResponse): Credential | undefined;
  /** Ends the event streams and stops reading Redis. */
  close(): void;
};

/**
 * Starts the dashboard: reads the state once (so the first page load is served from memory),
 * then polls, and fans every change out to the browsers over server-sent events.
 */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const state = new DashboardState({ redis: o.redis, keys: o.keys, logger: o.logger, ...o.poll });
  await state.start();
  const hub = new EventHub();
  const unsubscribe = state.subscribe((e) => hub.broadcast(e));
  const unexpose = exposeClusterMetrics(state);
  const auth = new DashboardAuth(o.token);
  const assets = new Assets(o.assetsDir);
  const api = dashboardApi({ redis: o.redis, keys: o.keys, state, logger: o.logger });

  function authorise(req: IncomingMessage, res: ServerResponse): Credential | undefined {
    const credential = auth.credential(req);
    if (!credential) auth.refuse(req, res);
    return credential;
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const page = (status: number, message?: string) =>
      send(req, res, status, loginPage(message), {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
    if (req.method === 'GET') return page(200);
    if (req.method !== 'POST') return sendJson(req, res, 405, { error: 'use GET or POST' });
    if (!auth.required) {
      res.writeHead(303, { location: '/' }).end();
      return;
    }
    const forged = auth.crossSiteReason(req, 'cookie', false);
    if (forged) return sendJson(req, res, 403, { error: forged });
    const raw = await readBody(req, 4096);
    const token = raw ? (new URLSearchParams(raw.toString('utf8')).get('token') ?? '') : '';
    const verdict = auth.login(token);
    if (verdict === 'throttled') return page(429, 'Too many wrong tokens; wait a minute.');
    if (verdict === 'wrong') return page(401, 'Wrong token.');
    res.writeHead(303, {
      location: '/',
      'set-cookie': auth.sessionCookie(req),
      'cache-control': 'no-store',
    });
    res.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    if (path === '/login') {
      await login(req, res);
      return true;
    }
    const ours = path === '/' || path === '/logout' || path.startsWith('/api/') || assets.has(path);
    if (!ours) return false;
    // The login page's stylesheet and the icon are served to anyone; the rest needs the token.
    if (PUBLIC_ASSETS.has(path)) {
      assets.serve(req, res, path);
      return true;
    }
    const credential = authorise(req, res);
    if (!credential) return true;
    if (req.method === 'POST') {
      const forged = auth.crossSiteReason(req, credential, path !== '/logout');
      if (forged) {
        sendJson(req, res, 403, { error: forged });
        return true;
      }
    }
    if (path === '/logout') {
      res.writeHead(303, {
        location: '/login',
        'set-cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
      });
      res.end();
      return true;
    }
    if (path === '/api/session') {
      sendJson(req, res, 200, { credential });
      return true;
    }
    if (path === '/api/events') {
      if (req.method !== 'GET') sendJson(req, res, 405, { error: 'use GET' });
      else hub.attach(req, res);
      return true;
    }
    if (path.startsWith('/api/')) {
      if (!(await api(req, res, path))) sendJson(req, res, 404, { error: 'not found' });
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(req, res, 405, { error: 'use GET' });
      return true;
    }
    assets.serve(req, res, path);
    return true;
  }

  return {
    state,
    auth,
    built: assets.built,
    handle,
    authorise,
    close() {
      unsubscribe();
      unexpose();
      hub.close();
      state.stop();
    },
  };
}
