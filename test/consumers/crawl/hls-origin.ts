import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpSource } from '../../../copy/sources/http-source.js';
import type { FetchText } from '../../../consumers/crawl/walk-class.js';

/**
 * What a path answers: a playlist body (served as HLS), a full response, or either made from the
 * origin's URL and the request's query (`?a=1`, or `` without one).
 */
export type Route = RouteAnswer | ((origin: string, query: string) => RouteAnswer | undefined);
type RouteAnswer =
  string | { body?: string; status?: number; type?: string; location?: string; chunked?: boolean };

export type RouteOrigin = {
  /** `http://host:port` */
  url: string;
  /** Every request's path and query, in arrival order. */
  requests: string[];
  close(): Promise<void>;
};

/**
 * A loopback origin for hand-written playlists: each route is keyed by path (the query only
 * reaches a route that is a function); anything else, or a function answering undefined, is a 404. `host` may be 127.0.0.2 for the "foreign host" of hostile tests.
 */
export async function startRouteOrigin(
  routes: Record<string, Route>,
  host = '127.0.0.1',
): Promise<RouteOrigin> {
  const requests: string[] = [];
  let self = '';
  const server = createServer((req, res) => {
    requests.push(req.url ?? '/');
    const { pathname, search } = new URL(req.url ?? '/', 'http://x');
    const found = routes[pathname];
    const route = typeof found === 'function' ? found(self, search) : found;
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'text/html' });
      return res.end('<html>not found</html>');
    }
    const r = typeof route === 'string' ? { body: route } : route;
    const headers: Record<string, string | number> = {
      'content-type': r.type ?? 'application/vnd.apple.mpegurl',
    };
    if (r.location !== undefined) headers.location = r.location;
    const body = r.body ?? '';
    if (!r.chunked) headers['content-length'] = Buffer.byteLength(body);
    res.writeHead(r.status ?? (r.location ? 302 : 200), headers);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  self = `http://${host}:${port}`;
  return {
    url: self,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The production fetcher (HttpSource.fetchText) with a playlist size limit, and its closer. */
export function httpFetcher(maxBytes = 1 << 20): { fetchText: FetchText; close(): Promise<void> } {
  const source = new HttpSource({ timeoutMs: 5000 });
  return {
    fetchText: (url) => source.fetchText(url, { maxBytes }),
    close: () => source.close(),
  };
}

/** A VOD media playlist naming `uris` as segments. */
export function media(...uris: string[]): string {
  return [
    '#EXTM3U',
    '#EXT-X-TARGETDURATION:4',
    ...uris.flatMap((u) => ['#EXTINF:4,', u]),
    '#EXT-X-ENDLIST',
    '',
  ].join('\n');
}

/** Lines joined into a playlist, `#EXTM3U` first. */
export function playlist(...lines: string[]): string {
  return ['#EXTM3U', ...lines, ''].join('\n');
}
