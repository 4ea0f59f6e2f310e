import { z } from 'zod';
import { ConfigError } from './errors.js';
import { DestUrl } from './events.js';

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['1', '0', 'true', 'false', 'yes', 'no']))
  .transform((s) => s === '1' || s === 'true' || s === 'yes');

/** One redis:// URL, or several seed nodes of a cluster separated by commas (a later seed may be
 * `host:port` alone, taking the first one's scheme and login). */
const redisUrl = z
  .string()
  .trim()
  .refine((s) => {
    const [first, ...rest] = s.split(',').map((p) => p.trim());
    const valid = (p: string) => {
      try {
        const u = new URL(p);
        return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
      } catch {
        return false;
      }
    };
    return (
      first !== undefined &&
      valid(first) &&
      rest.every((p) => valid(/^rediss?:\/\//.test(p) ? p : `redis://${p}`))
    );
  }, 'a redis:// or rediss:// URL such as redis://127.0.0.1:6379, or comma-separated cluster seeds');

const origins = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      z.string().refine((o) => {
        try {
          return new URL(o).origin === o.replace(/\/$/, '');
        } catch {
          return false;
        }
      }, 'origins such as https://cdn.example.com (scheme, host and port only)'),
    ),
  );

/** Log levels and formats (streams/log.ts): named here so that the variables are validated. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;

const MiB = 1024 * 1024;
/** S3's smallest part (every part but the last) and largest part. */
const MIN_PART_BYTES = 5 * MiB;
const MAX_PART_BYTES = 5 * 1024 * MiB;

/**
 * Limits of one class's crawl, which fail the class with the reason instead of exhausting the
 * crawler's memory (SPEC section 8): files listed, bytes of playlists read and of what variable
 * substitution adds to them, and characters in one URI once its variables are substituted.
 */
export const CRAWL_LIMITS = {
  maxFiles: 1_000_000,
  maxCrawlBytes: 256 * MiB,
  maxUriLength: 8192,
} as const;

/**
 * The environment colony reads, validated once at start. Each key is the variable's own name so
 * that an error can name it; `loadConfig` maps it to the camel-case `Config`.
 */
export const EnvSchema = z.object({
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  COLONY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, '1 to 64 letters, digits, _ . or -')
    .default('colony'),
  COLONY_DEST: DestUrl.optional(),
  COLONY_RUNTIME: z.enum(['local', 'lambda']).default('local'),
  COLONY_LAMBDA_FUNCTION: z.string().min(1).optional(),
  COLONY_CONCURRENCY: int(1, 4096).default(64),
  COLONY_BATCH_SIZE: int(1, 100).default(100),
  COLONY_VISIBILITY_TIMEOUT_MS: int(1000, 86_400_000).default(60_000),
  COLONY_MAX_DELIVERIES: int(1, 1000).default(5),
  COLONY_RETRY_ATTEMPTS: int(1, 100).default(3),
  COLONY_ALLOWED_ORIGINS: origins.default([]),
  COLONY_WEBHOOK_SECRET: z.string().min(1).optional(),
  COLONY_S3_ENDPOINT: z.string().url().optional(),
  COLONY_S3_FORCE_PATH_STYLE: bool.default(false),
  COLONY_SHARDS: int(1, 1024).default(1),
  COLONY_BLOCK_MS: int(10, 60_000).default(2000),
  /** Redis Cluster: replicas that must confirm a write before work that depends on it is acked. */
  COLONY_REPLICA_WAIT: int(0, 16).default(1),
  COLONY_REPLICA_WAIT_MS: int(10, 60_000).default(2000),
  /** serve trims what every group acked this often (0: never); COLONY_TRIM_ARCHIVE archives first. */
  COLONY_TRIM_INTERVAL_MS: z
    .string()
    .trim()
    .regex(/^\d+$/, 'a whole number')
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .refine((n) => n === 0 || (n >= 1000 && n <= 86_400_000), '0, or 1000 to 86400000'),
    )
    .default(600_000),
  COLONY_TRIM_ARCHIVE: bool.default(false),
  /** Leading part of this process's consumer names (a host name), so hosts tell apart in status. */
  COLONY_CONSUMER_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, '1 to 64 letters, digits, _ . or -')
    .optional(),
  COLONY_COPY_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  COLONY_MAX_PLAYLIST_BYTES: int(1024, 1024 * 1024 * 1024).default(16 * 1024 * 1024),
  COLONY_MAX_FILES_PER_CLASS: int(1, 100_000_000).default(CRAWL_LIMITS.maxFiles),
  COLONY_MAX_CRAWL_BYTES: int(1024, 64 * 1024 * MiB).default(CRAWL_LIMITS.maxCrawlBytes),
  COLONY_MAX_URI_LENGTH: int(256, 8192).default(CRAWL_LIMITS.maxUriLength),
  COLONY_LAMBDA_ENDPOINT: z.string().url().optional(),
  COLONY_LAMBDA_MAX_IN_FLIGHT: int(1, 10_000).default(32),
  COLONY_LAMBDA_COPY_CONCURRENCY: int(1, 1024).default(16),
  COLONY_LAMBDA_TIMEOUT_MS: int(1000, 900_000).optional(),
  COLONY_MULTIPART_THRESHOLD_BYTES: int(MIN_PART_BYTES, MAX_PART_BYTES).default(64 * MiB),
  COLONY_MULTIPART_PART_BYTES: int(MIN_PART_BYTES, MAX_PART_BYTES).default(16 * MiB),
  COLONY_CACHE_CONTROL: z
    .string()
    .max(256)
    .regex(/^[\x20-\x7e]+$/, 'printable ASCII such as "public, max-age=31536000, immutable"')
    .optional(),
  COLONY_SKIP_EXISTING: bool.default(false),
  /** Copy the current window of live playlists (no EXT-X-ENDLIST) instead of failing the class. */
  COLONY_ALLOW_LIVE: bool.default(false),
  /** Token for the dashboard, its API and /metrics (bearer header or the login form's cookie). */
  COLONY_DASHBOARD_TOKEN: z
    .string()
    .min(16, 'a token of at least 16 characters (e.g. openssl rand -hex 24)')
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional(),
  COLONY_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Unset: pretty on a terminal, JSON otherwise (see streams/log.ts). */
  COLONY_LOG_FORMAT: z.enum(LOG_FORMATS).optional(),
});

/** The validated configuration; its type follows from EnvSchema through loadConfig. */
export type Config = ReturnType<typeof loadConfig>;

/**
 * Reads and validates the environment. An empty variable counts as unset. A bad value throws a
 * ConfigError naming the variable, what was expected and what was given.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const relevant: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') relevant[key] = value;
  }
  const parsed = EnvSchema.safeParse(relevant);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    // A secret is never echoed, not even a wrong one: error output ends up in logs.
    const given = /(SECRET|TOKEN)$/.test(name) ? undefined : relevant[name];
    throw new ConfigError(
      `${name}: expected ${issue.message.replace(/^[A-Z][a-z ]*: expected /, '')}` +
        (given === undefined ? '' : `, got ${JSON.stringify(given)}`),
    );
  }
  const e = parsed.data;
  return {
    redisUrl: e.REDIS_URL,
    prefix: e.COLONY_PREFIX,
    dest: e.COLONY_DEST,
    runtime: e.COLONY_RUNTIME,
    lambdaFunction: e.COLONY_LAMBDA_FUNCTION,
    concurrency: e.COLONY_CONCURRENCY,
    batchSize: e.COLONY_BATCH_SIZE,
    visibilityTimeoutMs: e.COLONY_VISIBILITY_TIMEOUT_MS,
    maxDeliveries: e.COLONY_MAX_DELIVERIES,
    retryAttempts: e.COLONY_RETRY_ATTEMPTS,
    allowedOrigins: e.COLONY_ALLOWED_ORIGINS,
    webhookSecret: e.COLONY_WEBHOOK_SECRET,
    s3Endpoint: e.COLONY_S3_ENDPOINT,
    s3ForcePathStyle: e.COLONY_S3_FORCE_PATH_STYLE,
    shards: e.COLONY_SHARDS,
    blockMs: e.COLONY_BLOCK_MS,
    replicaWait: e.COLONY_REPLICA_WAIT,
    replicaWaitMs: e.COLONY_REPLICA_WAIT_MS,
    consumerPrefix: e.COLONY_CONSUMER_PREFIX,
    trimIntervalMs: e.COLONY_TRIM_INTERVAL_MS,
    trimArchive: e.COLONY_TRIM_ARCHIVE,
    copyTimeoutMs: e.COLONY_COPY_TIMEOUT_MS,
    maxPlaylistBytes: e.COLONY_MAX_PLAYLIST_BYTES,
    maxFilesPerClass: e.COLONY_MAX_FILES_PER_CLASS,
    maxCrawlBytes: e.COLONY_MAX_CRAWL_BYTES,
    maxUriLength: e.COLONY_MAX_URI_LENGTH,
    lambdaEndpoint: e.COLONY_LAMBDA_ENDPOINT,
    lambdaMaxInFlight: e.COLONY_LAMBDA_MAX_IN_FLIGHT,
    lambdaCopyConcurrency: e.COLONY_LAMBDA_COPY_CONCURRENCY,
    lambdaTimeoutMs: e.COLONY_LAMBDA_TIMEOUT_MS,
    multipartThresholdBytes: e.COLONY_MULTIPART_THRESHOLD_BYTES,
    multipartPartBytes: e.COLONY_MULTIPART_PART_BYTES,
    cacheControl: e.COLONY_CACHE_CONTROL,
    skipExisting: e.COLONY_SKIP_EXISTING,
    allowLive: e.COLONY_ALLOW_LIVE,
    dashboardToken: e.COLONY_DASHBOARD_TOKEN,
    logLevel: e.COLONY_LOG_LEVEL,
    logFormat: e.COLONY_LOG_FORMAT,
  };
}
