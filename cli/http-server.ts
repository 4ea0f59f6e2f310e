import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WEBHOOK_PATH, webhookHandler } from '../consumers/requests/webhook.js';
import type { StageDeps } from '../consumers/stage-deps.js';
import type { ColonyRedis } from '../streams/redis.js';
import type { ServiceRoutes } from './service-routes.js';

export type ServiceHttp = { server: Server; url: string; close(): Promise<void> };

/**
 * The HTTP face of `colony serve`: the class-completed webhook and a health check saying
 * whether Redis answers. Binds to loopback unless told otherwise.
 */
export async function startServiceHttp(o: {
  port: number;
  host: string;
  redis: ColonyRedis;
  deps: Pick<StageDeps, 'classes' | 'publisher' | 'config' | 'logger'>;
  info: Record<string, unknown>;
  /** Everything else: /readyz, /metrics, the dashboard (cli/service-routes.ts). */
  routes?: ServiceRoutes;
}): Promise<ServiceHttp> {
  const webhook = webhookHandler(o.deps);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === WEBHOOK_PATH) {
      void webhook(req, res);
      return;
    }
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      void Promise.race([
        o.redis.ping().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref()),
      ]).then((ok) => {
        const body = JSON.stringify({ ok, redis: ok ? 'up' : 'down', ...o.info });
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
      return;
    }
    if (o.routes) return o.routes.handle(req, res);
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: 'not found' }));
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () =>
      new Promise<void>((r) => {
        // Event streams stay open until ended: end them, or close would wait for the browsers.
        o.routes?.close();
        server.closeIdleConnections();
        server.close(() => r());
      }),
  };
}
