import type { Config } from '../schemas/config.js';
import type { StreamName } from '../schemas/events.js';
import { ClassStore } from '../streams/class-store.js';
import { GroupRunner, type GroupRunnerOptions } from '../streams/group-runner.js';
import { Keys } from '../streams/keys.js';
import { Liveness, consumerName } from '../streams/liveness.js';
import type { Logger } from '../streams/log.js';
import { Publisher } from '../streams/publisher.js';
import {
  connectReader,
  connectRedis,
  type BlockingConnection,
  type ColonyRedis,
} from '../streams/redis.js';
import { AGGREGATOR_GROUP, aggregatorHandler } from './aggregator.js';
import { CRAWLER_GROUP, crawlerHandler } from './crawler.js';
import { probeBy, type FetchText } from './crawl/walk-class.js';
import type { StageDeps } from './stage-deps.js';
import { TRANSFER_GROUP, transferHandler } from './transfer.js';
import { createRuntime } from './runtimes/create-runtime.js';
import type { TransferRuntime } from './runtimes/runtime.js';
import { HttpSource } from '../copy/sources/http-source.js';

import { STAGE_NAMES, type StageName } from '../schemas/stages.js';

export { STAGE_NAMES, type StageName };

/** Which group reads which stream: the map `status` and `replay` use too. */
export const STAGE_STREAMS: Record<StageName, { stream: StreamName; group: string }> = {
  crawler: { stream: 'classes', group: CRAWLER_GROUP },
  transfer: { stream: 'jobs', group: TRANSFER_GROUP },
  aggregator: { stream: 'results', group: AGGREGATOR_GROUP },
};

export type StageHostOptions = {
  config: Config;
  stages: readonly StageName[];
  logger: Logger;
  /** Replaces the local runtime (a Lambda runtime, or a no-op copier in benchmarks). */
  runtime?: TransferRuntime;
  fetchText?: FetchText;
  /** How long a consumer's liveness key lives without a heartbeat. */
  livenessTtlMs?: number;
  /** Results entries read per aggregator batch (each holds up to a batch of files). */
  aggregatorBatchSize?: number;
};

export type StageHost = {
  redis: ColonyRedis;
  deps: StageDeps;
  consumer: string;
  /** Stops taking work, finishes or hands back what is held, and closes connections. */
  stop(): Promise<void>;
};

/**
 * Runs any subset of the stages in this process: one consumer per stage and stream shard, each
 * with its own blocking connection, all sharing one command connection and one liveness key.
 */
export async function startStages(o: StageHostOptions): Promise<StageHost> {
  const { config, logger } = o;
  const redis = await connectRedis(config.redisUrl, 'colony', {
    replicaWait: { replicas: config.replicaWait, timeoutMs: config.replicaWaitMs },
  });
  const keys = new Keys(config.prefix, config.shards);
  const role = o.stages.length === STAGE_NAMES.length ? 'all' : o.stages.join('+');
  const consumer = consumerName(config.consumerPrefix ? `${config.consumerPrefix}/${role}` : role);
  const liveness = new Liveness(
    redis,
    keys,
    consumer,
    o.livenessTtlMs ?? Math.min(10_000, config.visibilityTimeoutMs),
  );
  await liveness.start();
  const deps: StageDeps = {
    config,
    keys,
    logger,
    liveness,
    publisher: new Publisher(redis, keys),
    classes: new ClassStore(redis, keys),
  };
  const readers: BlockingConnection[] = [];
  const runners: GroupRunner<StreamName>[] = [];
  const closers: (() => Promise<void>)[] = [];

  const base = {
    redis,
    keys,
    liveness,
    logger,
    blockMs: config.blockMs,
    visibilityTimeoutMs: config.visibilityTimeoutMs,
    maxDeliveries: config.maxDeliveries,
  };
  // Each stage logs with its name on every line.
  const stageDeps = (stage: StageName): StageDeps => ({ ...deps, logger: logger.child({ stage }) });
  const add = async <S extends StreamName>(
    stream: S,
    group: string,
    extra: Pick<GroupRunnerOptions<S>, 'handle' | 'batchSize'> & Partial<GroupRunnerOptions<S>>,
  ) => {
    for (let shard = 0; shard < keys.shardCount(stream); shard++) {
      const reader = await connectReader(
        redis,
        keys.stream(stream, shard),
        `colony-${group}-${shard}`,
      );
      readers.push(reader);
      const runner = new GroupRunner<S>({
        ...base,
        logger: logger.child({ stage: group }),
        reader,
        stream,
        shard,
        group,
        ...extra,
      });
      await runner.start();
      runners.push(runner as unknown as GroupRunner<StreamName>);
    }
  };

  if (o.stages.includes('crawler')) {
    const source = new HttpSource({
      timeoutMs: config.copyTimeoutMs,
      allowedOrigins: config.allowedOrigins,
    });
    closers.push(() => source.close());
    const fetchText: FetchText =
      o.fetchText ??
      ((url) =>
        source.fetchText(url, {
          maxBytes: config.maxPlaylistBytes,
          timeoutMs: config.copyTimeoutMs,
        }));
    // A GET whose body is dropped: a hinted part is small, and an origin that blocks the request
    // until the part exists (LL-HLS) answers once it does.
    const probe = probeBy(async (url) => {
      (await source.open(url, { timeoutMs: config.copyTimeoutMs })).body.destroy();
    });
    const h = crawlerHandler(stageDeps('crawler'), {
      fetchText,
      probe,
      allowLive: config.allowLive,
    });
    await add('classes', CRAWLER_GROUP, {
      handle: h.handle,
      beforeDeadLetter: h.beforeDeadLetter,
      batchSize: 4,
      maxInFlight: 2,
    });
  }
  if (o.stages.includes('transfer')) {
    const transferDeps = stageDeps('transfer');
    const runtime = o.runtime ?? createRuntime(config, transferDeps.logger);
    closers.push(() => runtime.close());
    const h = transferHandler(transferDeps, runtime);
    // Each jobs entry is one batch of up to COLONY_BATCH_SIZE files. Read enough batches to fill
    // every copy slot, and keep a second read in flight so that slots freed by a finished batch
    // do not wait for the slowest file of its neighbours.
    await add('jobs', TRANSFER_GROUP, {
      handle: h.handle,
      beforeDeadLetter: h.beforeDeadLetter,
      // On Lambda each batch is one invocation: read enough to keep the in-flight cap busy.
      batchSize:
        config.runtime === 'lambda' && !o.runtime
          ? Math.max(1, Math.ceil(config.lambdaMaxInFlight / 2))
          : Math.max(1, Math.ceil(config.concurrency / config.batchSize)),
      maxInFlight: 2,
    });
  }
  if (o.stages.includes('aggregator')) {
    const h = aggregatorHandler(stageDeps('aggregator'));
    await add('results', AGGREGATOR_GROUP, {
      handle: h.handle,
      batchSize: o.aggregatorBatchSize ?? 100,
      maxInFlight: 1,
    });
  }

  return {
    redis,
    deps,
    consumer,
    async stop() {
      await Promise.all(runners.map((r) => r.stop()));
      await liveness.stop();
      for (const close of closers) await close().catch(() => {});
      for (const reader of readers) reader.disconnect();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
