/**
 * colony's public API (the package's `exports`): what a program of yours needs to attach a
 * consumer group of its own to colony's streams, replay the audit log, and read the documents
 * the CLI prints. Everything else in the package is internal and may change without notice.
 *
 * ```ts
 * import { GroupRunner, Keys, Liveness, consumerName, connectRedis, connectReader } from 'colony';
 * ```
 *
 * - {@link GroupRunner}: one consumer of one group on one stream shard, with validated entries,
 *   batching, acks after your handler, redelivery of what a dead consumer held, and dead letters
 *   for poison entries.
 * - {@link Keys}: the name of every key colony writes, under a prefix (COLONY_PREFIX).
 * - {@link Liveness} and {@link consumerName}: a consumer's heartbeat, so that others can take
 *   over what it held the moment it dies.
 * - {@link readHistory}, {@link attachGroup}, {@link readGroup}: the replay reader.
 * - The zod schemas of every stream entry (`ClassOutcome`, `FileResults`, ...) and of every
 *   JSON document the CLI prints (`TransferDocument`, `StatusDocument`, ...), with their types.
 */
export {
  GroupRunner,
  type BatchVerdict,
  type Delivery,
  type GroupRunnerOptions,
} from './group-runner.js';
export { Keys } from './keys.js';
export { Liveness, consumerName } from './liveness.js';
export { createLogger, silentLogger, type Logger, type LogLevel } from './log.js';
export {
  connectBlocking,
  connectReader,
  connectRedis,
  probeRedis,
  type BlockingConnection,
  type ColonyRedis,
} from './redis.js';
export {
  attachGroup,
  detachGroup,
  readGroup,
  readHistory,
  type GroupEntry,
  type HistoryEntry,
  type HistoryOptions,
} from './replay.js';
export { ClassState, isFinished, type ClassStatus } from '../schemas/class-state.js';
export * from '../schemas/cli-output.js';
export { ColonyError, ErrorCode, describeError } from '../schemas/errors.js';
export * from '../schemas/events.js';
export { STAGE_NAMES, StageName } from '../schemas/stages.js';
