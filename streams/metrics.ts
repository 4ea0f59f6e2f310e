import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The Prometheus metrics of this process, in one registry that `GET /metrics` serves. Counters
 * here count what this process did (sum them over instances in Prometheus); the state of the
 * whole deployment (classes, files tracked, group lag) is read from Redis when scraped, by the
 * collectors the service registers (dashboard/server/cluster-metrics.ts).
 */
export const metricsRegistry = new Registry();
const registers = [metricsRegistry];

/** Seconds, from 5 ms to 2 minutes: a segment copy on loopback to a slow origin far away. */
const COPY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export const metrics = {
  files: new Counter({
    name: 'colony_files_total',
    help: 'File outcomes produced by the transfer stage of this process, by status (copied, skipped, failed)',
    labelNames: ['status'] as const,
    registers,
  }),
  bytes: new Counter({
    name: 'colony_bytes_total',
    help: 'Bytes of the files copied or skipped by the transfer stage of this process, by status',
    labelNames: ['status'] as const,
    registers,
  }),
  retries: new Counter({
    name: 'colony_file_retries_total',
    help: 'Copy attempts beyond the first, over the file outcomes of this process',
    registers,
  }),
  copyDuration: new Histogram({
    name: 'colony_copy_duration_seconds',
    help: 'Time to copy one file on the local runtime, retries included, by outcome status',
    labelNames: ['status'] as const,
    buckets: COPY_BUCKETS,
    registers,
  }),
  deliveries: new Counter({
    name: 'colony_deliveries_total',
    help: 'Stream entries handled by the consumer groups of this process, by group and outcome (acked, released, dead, error)',
    labelNames: ['group', 'outcome'] as const,
    registers,
  }),
  deadLettered: new Counter({
    name: 'colony_dead_lettered_total',
    help: 'Entries this process moved to the dead-letter stream, by the stream they came from',
    labelNames: ['stream'] as const,
    registers,
  }),
  redisRoundTrips: new Counter({
    name: 'colony_redis_round_trips_total',
    help: 'Requests sent to Redis: a single command or a whole pipeline counts once',
    registers,
  }),
  redisCommands: new Counter({
    name: 'colony_redis_commands_total',
    help: 'Commands sent to Redis, pipelined ones included',
    registers,
  }),
  lambdaInvocations: new Counter({
    name: 'colony_lambda_invocations_total',
    help: 'Invoke calls to the copy function, by result (ok, function_error, throttled, error)',
    labelNames: ['result'] as const,
    registers,
  }),
  lambdaThrottles: new Counter({
    name: 'colony_lambda_throttles_total',
    help: 'Invoke calls that Lambda throttled (429 TooManyRequestsException)',
    registers,
  }),
  lambdaDuration: new Histogram({
    name: 'colony_lambda_invocation_duration_seconds',
    help: 'Time of one Invoke call to the copy function, answered or not',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    registers,
  }),
};

let defaultsOn = false;

/** Adds Node's process metrics (CPU, memory, event loop lag) to the registry, once. */
export function collectProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: metricsRegistry });
}
