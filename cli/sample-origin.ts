import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { contentTypeFor } from '../copy/destinations/open-destination.js';

export type SampleOrigin = {
  url: string;
  server: Server;
  /** GET requests served, by path: lets tests check what was fetched, and how often. */
  requests: Map<string, number>;
  close(): Promise<void>;
};

export type SyntheticLibrary = {
  /** Classes served under /synthetic/c<i>/master.m3u8. */
  classes: number;
  variants: number;
  segmentsPerVariant: number;
  segmentBytes: number;
};

/**
 * An HTTP origin on loopback for the demo, tests and benchmarks. It serves a folder of real HLS
 * output under `/hls/`, and, when asked, a synthetic library generated on the fly under
 * `/synthetic/` (playlists and deterministic segment bytes), so a 100,000-file library costs no
 * disk.
 */
export async function startSampleOrigin(
  o: { root?: string; synthetic?: SyntheticLibrary; host?: string; segmentDelayMs?: number } = {},
): Promise<SampleOrigin> {
  const root = o.root ? resolve(o.root) : undefined;
  const requests = new Map<string, number>();
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    if (req.method === 'GET') requests.set(path, (requests.get(path) ?? 0) + 1);
    if (o.segmentDelayMs && !path.endsWith('.m3u8'))
      await new Promise((r) => setTimeout(r, o.segmentDelayMs));
    const send = (status: number, body: string | Buffer, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (o.synthetic && path.startsWith('/synthetic/')) {
      const body = synthetic(o.synthetic, path.slice('/synthetic/'.length));
      if (body === undefined) return send(404, 'not found');
      return send(200, body, contentTypeFor(path));
    }
    if (root && path.startsWith('/hls/')) {
      const file = normalize(join(root, path.slice('/hls/'.length)));
      if (!file.startsWith(root + sep)) return send(403, 'forbidden');
      stat(file).then(
        (s) => {
          if (!s.isFile()) return send(404, 'not found');
          res.writeHead(200, {
            'content-type': contentTypeFor(extname(file) ? file : 'x.bin'),
            'content-length': s.size,
          });
          if (req.method === 'HEAD') return res.end();
          createReadStream(file).pipe(res);
        },
        () => send(404, 'not found'),
      );
      return;
    }
    send(404, 'not found');
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, o.host ?? '127.0.0.1', r));
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    server,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function synthetic(lib: SyntheticLibrary, path: string): string | Buffer | undefined {
  const m = /^c(\d+)\/(?:(master\.m3u8)|v(\d+)\/(index\.m3u8|s(\d+)\.ts))$/.exec(path);
  if (!m || Number(m[1]) >= lib.classes) return undefined;
  if (m[2]) {
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3'];
    for (let v = 0; v < lib.variants; v++) {
      lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${(v + 1) * 200_000}`, `v${v}/index.m3u8`);
    }
    return lines.join('\n') + '\n';
  }
  if (Number(m[3]) >= lib.variants) return undefined;
  if (m[4] === 'index.m3u8') {
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MEDIA-SEQUENCE:0',
    ];
    for (let s = 0; s < lib.segmentsPerVariant; s++) lines.push('#EXTINF:4.0,', `s${s}.ts`);
    lines.push('#EXT-X-ENDLIST');
    return lines.join('\n') + '\n';
  }
  if (Number(m[5]) >= lib.segmentsPerVariant) return undefined;
  return segmentBytes(path, lib.segmentBytes);
}

/** Deterministic bytes for a synthetic segment: the same path always gives the same body. */
export function segmentBytes(path: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = 2166136261;
  for (let i = 0; i < path.length; i++) x = Math.imul(x ^ path.charCodeAt(i), 16777619) >>> 0;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
