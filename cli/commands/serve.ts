import { Command } from 'commander';
import { ServeOptions } from '../../schemas/cli.js';
import type { Config } from '../../schemas/config.js';
import {
  ColonyError,
  ConfigError,
  ErrorCode,
  UsageError,
  describeError,
} from '../../schemas/errors.js';
import {
  startStages,
  STAGE_NAMES,
  type StageHost,
  type StageName,
} from '../../consumers/stages.js';
import { createLogger } from '../../streams/log.js';
import { probeRedis } from '../../streams/redis.js';
import { verifyRedis } from '../../streams/server-check.js';
import { startRetentionSchedule } from '../../streams/retention-schedule.js';
import { archiveFor } from './replay.js';
import type { Logger } from '../../streams/log.js';
import { prose, runWith, verbosity, type RawOptions } from '../command-kit.js';
import { parseOptions } from '../errors.js';
import { startServiceHttp, type ServiceHttp } from '../http-server.js';
import { requireDashboardToken } from '../bind-check.js';
import { onStopSignals } from '../signals.js';

/** A service that could not start: a port in use, an address it cannot bind. */
class StartupError extends ColonyError {
  constructor(message: string) {
    super(ErrorCode.Config, message);
  }
}

/** `colony serve`: its options and help, in one place. */
export function serveCommand(): Command {
  const cmd = new Command('serve')
    .summary('run stages as a long-running service')
    .usage('[--stages a,b] [--port N] [options]')
    .description(
      prose(`
Runs the chosen stages (all by default) until SIGTERM or SIGINT. Run each stage as many
processes on as many machines as you like: every process is its own consumer in the stage's
consumer group, and work held by a process that dies is claimed by the others.`),
    )
    .option('--stages <list>', `comma-separated subset of: ${STAGE_NAMES.join(', ')}`)
    .option(
      '--port <n>',
      'serve the webhook (POST /hooks/class-completed) and GET /healthz on this port, on 127.0.0.1 unless COLONY_HOST says otherwise (0 picks a free port)',
    )
    .option(
      '--name <prefix>',
      "leading part of this process's consumer names, e.g. the host (COLONY_CONSUMER_PREFIX)",
    );
  verbosity(cmd, 'log warnings and errors only', 'log debug lines too');
  return cmd
    .allowExcessArguments(false)
    .addHelpText(
      'after',
      `
On SIGTERM or SIGINT the process stops taking work, finishes or hands back what
it holds, and exits.

Retention: every COLONY_TRIM_INTERVAL_MS (default 600000, 0 for never) one of the
services sharing the prefix trims what every consumer group acknowledged, as
colony trim does, archiving it to COLONY_DEST first when COLONY_TRIM_ARCHIVE=true.`,
    )
    .action((raw: RawOptions) => runWith((config) => runServe(raw, config), { signals: true }));
}

async function runServe(raw: RawOptions, base: Config): Promise<number> {
  const name = raw.name as string | undefined;
  if (name !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(name))
    throw new UsageError(
      `--name: expected 1 to 64 letters, digits, _ . or -, got ${JSON.stringify(name)}`,
    );
  const config: Config = name === undefined ? base : { ...base, consumerPrefix: name };
  const opts = parseOptions(ServeOptions, {
    stages: String(raw.stages ?? STAGE_NAMES.join(','))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    port: raw.port,
  });
  const level = raw.quiet ? 'warn' : raw.verbose ? 'debug' : config.logLevel;
  const logger = createLogger(level, 'colony', { format: config.logFormat });
  if (opts.port !== undefined)
    requireDashboardToken(process.env.COLONY_HOST ?? '127.0.0.1', config.dashboardToken);
  // Signals are taken from the start: a stop asked for while starting is honoured once started,
  // instead of killing the process half way through its start. A second signal exits at once.
  let stopAsked = false;
  let wake = (): void => {};
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const release = onStopSignals(() => {
    stopAsked = true;
    wake();
  });
  try {
    if (config.trimArchive && !config.dest)
      throw new ConfigError(
        'COLONY_TRIM_ARCHIVE: expected COLONY_DEST to say where the archive goes',
      );
    await waitForRedis(config.redisUrl, logger, () => stopAsked);
    if (stopAsked) return 0;
    const server = await verifyRedis(config.redisUrl, {
      report: (f) => logger.warn('Redis check', { check: f.check, reason: f.message }),
    });
    const persistence = server.findings.find((f) => f.check === 'persistence' && f.level === 'ok');
    if (persistence) logger.info('Redis persistence', { reason: persistence.message });
    if (server.cluster)
      logger.info('Redis Cluster', { masters: server.masters?.length ?? 0, shards: config.shards });
    const host = await startStages({ config, stages: opts.stages, logger });
    logger.info('serving', { stages: opts.stages, consumer: host.consumer });
    let http: ServiceHttp | undefined;
    try {
      if (opts.port !== undefined)
        http = await listen(opts.port, host, opts.stages, config, logger);
    } catch (err) {
      // A port in use ends the service: its stages stop (handing back nothing, they just started).
      await host.stop();
      throw err;
    }
    const { archive, destination } = config.trimArchive ? archiveFor(config, undefined) : {};
    const retention =
      config.trimIntervalMs > 0
        ? startRetentionSchedule({
            redis: host.redis,
            keys: host.deps.keys,
            intervalMs: config.trimIntervalMs,
            archive,
            logger,
          })
        : undefined;

    await stopped;
    logger.info('stopping: finishing or handing back held work');
    await retention?.stop();
    await destination?.close();
    await http?.close();
    await host.stop();
    logger.info('stopped');
    return 0;
  } finally {
    release();
  }
}

/** The webhook and health endpoints; a port that cannot be bound is one line. */
async function listen(
  port: number,
  host: StageHost,
  stages: readonly StageName[],
  config: Config,
  logger: Logger,
): Promise<ServiceHttp> {
  if (!config.webhookSecret) {
    logger.warn('webhook accepts unsigned requests: COLONY_WEBHOOK_SECRET is not set');
  }
  if (!config.dest) logger.warn('webhook classes cannot be enqueued: COLONY_DEST is not set');
  const address = process.env.COLONY_HOST ?? '127.0.0.1';
  // Loaded only here: a stage scaled out without --port starts without the dashboard's code.
  const { startServiceRoutes } = await import('../service-routes.js');
  const routes = await startServiceRoutes({
    redis: host.redis,
    keys: host.deps.keys,
    config,
    logger: logger.child({ stage: 'service' }),
    stages,
  });
  let http: ServiceHttp;
  try {
    http = await startServiceHttp({
      port,
      host: address,
      redis: host.redis,
      deps: host.deps,
      info: { consumer: host.consumer, stages },
      routes,
    });
  } catch (err) {
    routes.close();
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? 'the port is in use'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EADDRNOTAVAIL'
            ? 'no such address here (COLONY_HOST)'
            : describeError(err);
    throw new StartupError(`cannot listen on ${address}:${port} (--port): ${why}`);
  }
  logger.info('listening', { url: http.url });
  return http;
}

/** How long a starting service waits for Redis before giving up with the probe's message. */
const REDIS_START_WAIT_MS = 30_000;

/**
 * A service started while Redis restarts waits for it rather than exiting; a Redis that does not
 * answer within REDIS_START_WAIT_MS is reported as a bad REDIS_URL would be.
 */
async function waitForRedis(url: string, logger: Logger, stopAsked: () => boolean): Promise<void> {
  const deadline = Date.now() + REDIS_START_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      await probeRedis(url, 2000);
      return;
    } catch (err) {
      if (Date.now() > deadline || stopAsked()) throw err;
      if (attempt === 0) logger.warn('waiting for Redis', { err: (err as Error).message });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
