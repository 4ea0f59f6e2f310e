import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { send } from './http.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

type Asset = { body: Buffer; type: string; etag: string };

/**
 * The dashboard's built files (`npm run build:dashboard` writes them to dist/dashboard/public),
 * read once at start and served from memory with an ETag: `/` is index.html, `/assets/<file>`
 * the rest. Nothing is fetched from anywhere else at run time.
 */
export class Assets {
  private readonly files = new Map<string, Asset>();

  constructor(readonly dir: string) {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (!type) continue;
      const body = readFileSync(join(dir, name));
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
      this.files.set(name === 'index.html' ? '/' : `/assets/${name}`, { body, type, etag });
      if (name === 'favicon.svg') this.files.set('/favicon.ico', { body, type, etag });
    }
  }

  /** Whether the bundle is there (index.html and its script). */
  get built(): boolean {
    return this.files.has('/') && this.files.has('/assets/app.js');
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    const asset = this.files.get(path);
    if (!asset) {
      const missing = path === '/' && !this.built;
      send(
        req,
        res,
        missing ? 503 : 404,
        missing
          ? `dashboard not built: run npm run build:dashboard (looked in ${this.dir})\n`
          : 'not found\n',
        {
          'content-type': 'text/plain; charset=utf-8',
        },
      );
      return;
    }
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, { etag: asset.etag });
      res.end();
      return;
    }
    send(req, res, 200, asset.body, {
      'content-type': asset.type,
      etag: asset.etag,
      'cache-control': 'no-cache',
    });
  }
}
