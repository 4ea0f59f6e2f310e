import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type OriginFile = {
  body: Buffer;
  /** Send `ETag: "<md5>"` (as CloudFront in front of S3 does) and honour If-None-Match. */
  etag?: boolean;
  /** The first this many GETs send half the body, then cut the connection. */
  truncateTimes?: number;
  /** Answer every GET this late. */
  delayMs?: number;
};

export type TestOrigin = {
  url: string;
  files: Map<string, OriginFile>;
  /** Answers with a body (200 or 206), by path. */
  bodies: Map<string, number>;
  /** Ranged answers (206), by path. */
  ranged: Map<string, number>;
  /** 304 Not Modified answers, by path. */
  notModified: Map<string, number>;
  close(): Promise<void>;
};

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/**
 * An HTTP origin on loopback serving files from memory, with Range and If-None-Match support
 * and faults on request, counting what it sent.
 */
export async function startTestOrigin(files: Record<string, OriginFile>): Promise<TestOrigin> {
  const map = new Map(Object.entries(files));
  const bodies = new Map<string, number>();
  const ranged = new Map<string, number>();
  const notModified = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const file = map.get(path);
    if (req.method !== 'GET' || !file) {
      res.writeHead(404, { 'content-length': 9 });
      res.end('not found');
      return;
    }
    const answer = () => {
      const etag = file.etag ? `"${createHash('md5').update(file.body).digest('hex')}"` : undefined;
      if (etag && req.headers['if-none-match'] === etag) {
        bump(notModified, path);
        res.writeHead(304, { etag });
        res.end();
        return;
      }
      let data = file.body;
      const headers: Record<string, string | number> = { 'accept-ranges': 'bytes' };
      if (etag) headers.etag = etag;
      let status = 200;
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      if (range) {
        const start = Number(range[1]);
        const end = range[2] ? Number(range[2]) : file.body.length - 1;
        data = file.body.subarray(start, end + 1);
        headers['content-range'] = `bytes ${start}-${end}/${file.body.length}`;
        status = 206;
        bump(ranged, path);
      }
      bump(bodies, path);
      headers['content-length'] = data.length;
      res.writeHead(status, headers);
      if (file.truncateTimes && file.truncateTimes > 0) {
        file.truncateTimes--;
        res.write(data.subarray(0, Math.floor(data.length / 2)), () =>
          setTimeout(() => res.socket?.destroy(), 20),
        );
        return;
      }
      res.end(data);
    };
    if (file.delayMs) setTimeout(answer, file.delayMs);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files: map,
    bodies,
    ranged,
    notModified,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A pass-through proxy in front of an S3-compatible server that counts writes (PUT and POST),
 * so a test can tell whether anything was uploaded. Headers go through unchanged, so the
 * signature (made for the proxy's host) still verifies.
 */
export async function startCountingProxy(target: string): Promise<{
  endpoint: string;
  writes: () => number;
  close(): Promise<void>;
}> {
  const { hostname, port } = new URL(target);
  let writes = 0;
  const { request } = await import('node:http');
  const server = createServer((req, res) => {
    if (req.method === 'PUT' || req.method === 'POST') writes++;
    const upstream = request(
      { host: hostname, port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port: own } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${own}`,
    writes: () => writes,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
