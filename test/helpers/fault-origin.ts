import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { segmentBytes, type SyntheticLibrary } from '../../cli/sample-origin.js';

export const FAULTS = [
  'status-500',
  'status-503',
  'reset',
  'stall',
  'truncate',
  'slow-drip',
] as const;
export type Fault = (typeof FAULTS)[number];

export type FaultOrigin = {
  url: string;
  /** Faults injected so far, by kind. */
  injected: Map<Fault, number>;
  /** Faults that made a request fail (all but slow-drip, which delivers in full). */
  failing(): number;
  close(): Promise<void>;
};

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/**
 * A synthetic HLS origin on loopback that misbehaves on purpose, deterministically: the first
 * `hash(path) % (maxFaultsPerFile + 1)` requests of each segment get a fault, chosen by path and
 * attempt, and later requests are served in full. Playlists are always served, so the crawl is
 * not what is tested.
 */
export async function startFaultOrigin(
  lib: SyntheticLibrary,
  o: { maxFaultsPerFile: number; stallMs: number },
): Promise<FaultOrigin> {
  const seen = new Map<string, number>();
  const injected = new Map<Fault, number>();
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const m = /^\/synthetic\/(c\d+\/(?:master\.m3u8|v\d+\/(?:index\.m3u8|s\d+\.ts)))$/.exec(path);
    if (!m) return res.writeHead(404).end();
    const rel = m[1]!;
    if (rel.endsWith('.m3u8')) {
      const body = playlist(lib, rel);
      return res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(body);
    }
    const attempt = seen.get(rel) ?? 0;
    seen.set(rel, attempt + 1);
    const body = segmentBytes(rel, lib.segmentBytes);
    if (attempt < hash(rel) % (o.maxFaultsPerFile + 1)) {
      const fault = FAULTS[((hash(rel) >>> 8) + attempt) % FAULTS.length]!;
      injected.set(fault, (injected.get(fault) ?? 0) + 1);
      switch (fault) {
        case 'status-500':
        case 'status-503':
          return res.writeHead(fault === 'status-500' ? 500 : 503).end('try later');
        case 'reset':
          return req.socket.destroy();
        case 'stall':
          // Headers never come: the copy's timeout must fire.
          setTimeout(() => req.socket.destroy(), o.stallMs).unref();
          return;
        case 'truncate':
          res.writeHead(200, { 'content-length': body.length, 'content-type': 'video/mp2t' });
          res.write(body.subarray(0, Math.floor(body.length / 2)));
          setTimeout(() => req.socket.destroy(), 20).unref();
          return;
        case 'slow-drip': {
          res.writeHead(200, { 'content-length': body.length, 'content-type': 'video/mp2t' });
          let sent = 0;
          const step = Math.ceil(body.length / 5);
          const timer = setInterval(() => {
            res.write(body.subarray(sent, sent + step));
            sent += step;
            if (sent >= body.length) {
              clearInterval(timer);
              res.end();
            }
          }, 10);
          return;
        }
      }
    }
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'video/mp2t' }).end(body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    injected,
    failing: () => [...injected].filter(([f]) => f !== 'slow-drip').reduce((a, [, n]) => a + n, 0),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function playlist(lib: SyntheticLibrary, rel: string): string {
  if (rel.endsWith('master.m3u8')) {
    const lines = ['#EXTM3U'];
    for (let v = 0; v < lib.variants; v++)
      lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${(v + 1) * 100000}`, `v${v}/index.m3u8`);
    return lines.join('\n') + '\n';
  }
  const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:4', '#EXT-X-MEDIA-SEQUENCE:0'];
  for (let s = 0; s < lib.segmentsPerVariant; s++) lines.push('#EXTINF:4.0,', `s${s}.ts`);
  lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}
