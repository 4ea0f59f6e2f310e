import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Config } from '../schemas/config.js';
import { describeError } from '../schemas/errors.js';
import { STAGE_NAMES, STAGE_STREAMS, type StageName } from '../consumers/stages.js';
import {
  startDashboard,
  type Dashboard,
  type DashboardOptions,
} from '../dashboard/server/dashboard.js';
import type { Keys } from '../streams/keys.js';
import type { Logger } from '../streams/log.js';
import { collectProcessMetrics, metricsRegistry } from '../streams/metrics.js';
import { readPipelineStatus } from '../streams/pipeline-status.js';
import type { ColonyRedis } from '../streams/redis.js';
import { packageRoot } from './package-root.js';

/** Every path `colony serve --port` answers besides the webhook and /healthz. */
export type ServiceRoutes = {
  dashboard: Dashboard;
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends the dashboard's event streams (before the server closes) and its polling. */
  close(): void;
};

/**
 * Readiness: Redis answers within a second and every group of the stages this process runs
 * exists on every shard of its stream (they are created when the stages start).
 */
async function readiness(redis: ColonyRedis, keys: Keys, stages: readonly StageName[]) {
  const wanted = (stages.length ? stages : STAGE_NAMES).map((s) => STAGE_STREAMS[s]);
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error('Redis did not answer within 1 s')), 1000).unref(),
  );
  try {
    const pipeline = await Promise.race([readPipelineStatus(redis, keys), timeout]);
    const missing: string[] = [];
    for (const { stream, group } of wanted)
      for (const s of pipeline.streams.filter((x) => x.stream === stream))
        if (!s.groups.some((g) => g.name === group)) missing.push(`${group} on ${s.key}`);
    return { ok: missing.length === 0, redis: 'up', missingGroups: missing };
  } catch (err) {
    return { ok: false, redis: 'down', error: describeError(err), missingGroups: [] };
  }
}

/**
 * The route table of the service beside the webhook: /readyz (open, like /healthz), /metrics
 * and the dashboard (both behind COLONY_DASHBOARD_TOKEN when it is set).
 */
export async function startServiceRoutes(o: {
  redis: ColonyRedis;
  keys: Keys;
  config: Pick<Config, 'dashboardToken'>;
  logger: Logger;
  stages: readonly StageName[];
  assetsDir?: string;
  /** Polling intervals of the dashboard's reader (tests make them short). */
  poll?: DashboardOptions['poll'];
}): Promise<ServiceRoutes> {
  collectProcessMetrics();
  const dashboard = await startDashboard({
    redis: o.redis,
    keys: o.keys,
    logger: o.logger,
    token: o.config.dashboardToken,
    assetsDir: o.assetsDir ?? join(packageRoot(), 'dist', 'dashboard', 'public'),
    ...(o.poll ? { poll: o.poll } : {}),
  });
  if (!dashboard.built)
    o.logger.warn('dashboard not built: GET / answers 503; run npm run build:dashboard');

  async function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (path === '/readyz' && get) {
      const r = await readiness(o.redis, o.keys, o.stages);
      res.writeHead(r.ok ? 200 : 503, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(r));
      return;
    }
    if (path === '/metrics' && get) {
      if (!dashboard.authorise(req, res)) return;
      const body = await metricsRegistry.metrics();
      res.writeHead(200, {
        'content-type': metricsRegistry.contentType,
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (await dashboard.handle(req, res, path)) return;
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: 'not found' }));
  }

  return {
    dashboard,
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      route(req, res, path).catch((err: unknown) => {
        o.logger.warn('service request failed', { path, err: describeError(err) });
        if (!res.headersSent) res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'the service could not answer; retry later' }));
      });
    },
    close: () => dashboard.close(),
  };
}
