import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const SESSION_COOKIE = 'colony_session';
/** How long a login lasts. */
const SESSION_SECONDS = 12 * 3600;

/** How a request proved who it is: a bearer header, the login cookie, or nothing was needed. */
export type Credential = 'bearer' | 'cookie' | 'open';

/** Constant-time equality of two strings of any lengths. */
function same(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * The cookie value a login sets: a MAC of a fixed label under the token, so that the cookie is
 * not the token itself, and changing the token ends every session.
 */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('colony-dashboard-session-v1').digest('base64url');
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether a host name or address (IPv6 with or without brackets) is this machine's loopback. */
export function isLoopbackName(name: string): boolean {
  const h = name.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** The host of a Host header (`name`, `name:port`, `[v6]` or `[v6]:port`). */
function hostName(header: string): string {
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  return header.split(':')[0] ?? '';
}

/**
 * The dashboard's checks, for every path but /healthz, /readyz and the webhook. With
 * COLONY_DASHBOARD_TOKEN set a request needs `Authorization: Bearer <token>` or the cookie of a
 * login. Without it (allowed on loopback only) a request must name a loopback host, so that a
 * page elsewhere cannot reach the service through DNS rebinding.
 */
export class DashboardAuth {
  private readonly session: string | undefined;
  private failures: number[] = [];

  constructor(private readonly token: string | undefined) {
    this.session = token ? sessionValue(token) : undefined;
  }

  get required(): boolean {
    return this.token !== undefined;
  }

  /** How the request is authorised, or undefined when it is not. */
  credential(req: IncomingMessage): Credential | undefined {
    if (!this.token) return isLoopbackName(hostName(req.headers.host ?? '')) ? 'open' : undefined;
    const auth = req.headers.authorization;
    if (auth?.toLowerCase().startsWith('bearer ') && same(auth.slice(7).trim(), this.token))
      return 'bearer';
    const c = cookie(req, SESSION_COOKIE);
    if (c && same(c, this.session!)) return 'cookie';
    return undefined;
  }

  /**
   * Why a state-changing request (POST) may be forged by another site, or undefined when it
   * cannot be. A bearer header is never sent by a browser on its own, so it needs no more; a
   * cookie (or no token) needs the browser to say the request comes from this origin, and a JSON
   * body, which a cross-site form cannot send without a preflight this service never answers.
   */
  crossSiteReason(req: IncomingMessage, credential: Credential, json = true): string | undefined {
    if (credential === 'bearer') return undefined;
    // A browser that sends Sec-Fetch-Site says where the request comes from, and a page cannot
    // change it; Origin is the check for the browsers that do not.
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none')
      return `cross-site request (Sec-Fetch-Site: ${site})`;
    const origin = req.headers.origin;
    if (site === undefined && origin !== undefined) {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        host = undefined;
      }
      if (host !== req.headers.host) return `cross-origin request (Origin: ${origin})`;
    } else if (site === undefined) {
      return 'request names neither Origin nor Sec-Fetch-Site';
    }
    if (json && !(req.headers['content-type'] ?? '').startsWith('application/json'))
      return 'expected a JSON body (content-type: application/json)';
    return undefined;
  }

  /** Checks a login form's token; throttles guessing (10 wrong tokens a minute per process). */
  login(given: string): 'ok' | 'wrong' | 'throttled' {
    const now = Date.now();
    this.failures = this.failures.filter((t) => now - t < 60_000);
    if (this.failures.length >= 10) return 'throttled';
    if (this.token && same(given, this.token)) return 'ok';
    this.failures.push(now);
    return 'wrong';
  }

  /** The Set-Cookie header of a login (Secure when the request came over TLS). */
  sessionCookie(req: IncomingMessage): string {
    const secure =
      ('encrypted' in req.socket && req.socket.encrypted) ||
      req.headers['x-forwarded-proto'] === 'https';
    return `${SESSION_COOKIE}=${this.session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_SECONDS}${secure ? '; Secure' : ''}`;
  }

  /** Answers a request that is not authorised: the login form for a browser, 401 otherwise. */
  refuse(req: IncomingMessage, res: ServerResponse): void {
    if (!this.token) {
      res.writeHead(421, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: 'address the service by a loopback name (127.0.0.1, localhost)' }),
      );
      return;
    }
    const wantsPage = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
    if (wantsPage) {
      res.writeHead(303, { location: '/login', 'cache-control': 'no-store' });
      res.end();
      return;
    }
    res.writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': 'Bearer realm="colony"',
    });
    res.end(
      JSON.stringify({
        error: 'COLONY_DASHBOARD_TOKEN needed: Authorization: Bearer <token>, or log in at /login',
      }),
    );
  }
}
