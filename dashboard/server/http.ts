import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

/**
 * What every dashboard response says about itself: scripts, styles and connections from this
 * origin only (no CDN, no inline script), never framed, no referrer, no type sniffing.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Not no-referrer: with it a browser sends `Origin: null` on a form post, and the login's
  // same-origin check could not tell it from a forged one.
  'referrer-policy': 'same-origin',
};

/** Bodies above this are gzipped for a client that accepts it (the class list of 2,000 classes). */
const GZIP_ABOVE = 16 * 1024;

/** Sends a body, gzipped when it is large and the client accepts it. */
export function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string>,
): void {
  let payload = typeof body === 'string' ? Buffer.from(body) : body;
  const out: Record<string, string> = { ...SECURITY_HEADERS, ...headers, vary: 'accept-encoding' };
  if (
    payload.length > GZIP_ABOVE &&
    /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
  ) {
    payload = gzipSync(payload, { level: 4 });
    out['content-encoding'] = 'gzip';
  }
  out['content-length'] = String(payload.length);
  res.writeHead(status, out);
  res.end(req.method === 'HEAD' ? undefined : payload);
}

export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
): void {
  send(req, res, status, JSON.stringify(body), {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
}

/** Reads a body of at most `limit` bytes; undefined when it is larger. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
