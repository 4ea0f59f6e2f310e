import { Readable } from 'node:stream';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Config } from '../schemas/config.js';
import { describeError } from '../schemas/errors.js';
import { openDestination } from '../copy/destinations/open-destination.js';
import { regionFromDefaultChain } from '../copy/s3-client.js';
import { ClassStore } from '../streams/class-store.js';
import { Keys } from '../streams/keys.js';
import { connectRedis } from '../streams/redis.js';
import { inspectRedis, type Finding, type RedisReport } from '../streams/server-check.js';

/**
 * Redis memory one file costs while its class is in flight, measured by `npm run bench` (README,
 * "Sizing Redis"): its share of a jobs and a results entry (batches of 100), its bit, and the
 * class's keys. Once the class is done and the log trimmed, a file costs about 2 bytes.
 */
export const BYTES_PER_FILE_IN_FLIGHT = 270;

/** What `colony doctor` found, check by check. */
export type DoctorReport = { ok: boolean; findings: Finding[]; redis?: RedisReport };

/** Memory headroom: what the classes queued and in flight still need, against maxmemory. */
async function memoryFindings(config: Config, report: RedisReport): Promise<Finding[]> {
  const redis = await connectRedis(config.redisUrl, 'colony-doctor');
  try {
    const store = new ClassStore(redis, new Keys(config.prefix, config.shards));
    const states = (
      await Promise.all((await store.list(100_000)).map((id) => store.get(id)))
    ).filter((s) => s !== undefined);
    const known = states.filter((s) => s.total > 0);
    const average = known.length ? known.reduce((a, s) => a + s.total, 0) / known.length : 0;
    let remaining = 0;
    let open = 0;
    for (const s of states) {
      if (s.status === 'transferred' || s.status === 'failed') continue;
      open++;
      remaining += s.total > 0 ? s.total - s.done : average;
    }
    const need = Math.round(remaining * BYTES_PER_FILE_IN_FLIGHT);
    const masters = report.nodes.filter((n) => n.role === 'master');
    const limit = masters.reduce((a, n) => a + n.maxmemory, 0);
    const used = masters.reduce((a, n) => a + n.usedMemory, 0);
    const what = `${open} classes queued or in flight, about ${Math.round(remaining)} files to go (${mib(need)} more)`;
    if (masters.some((n) => n.maxmemory === 0))
      return [
        {
          level: 'warn',
          check: 'memory',
          message: `Redis has no maxmemory: it grows until the machine runs out; ${what}, ${mib(used)} used`,
          setting: 'maxmemory (at least the used memory plus what is queued, and below the RAM)',
        },
      ];
    const free = limit - used;
    return [
      free >= need * 1.2
        ? {
            level: 'ok',
            check: 'memory',
            message: `memory: ${mib(free)} free of ${mib(limit)}; ${what}`,
          }
        : {
            level: free >= need ? 'warn' : 'error',
            check: 'memory',
            message: `memory: ${mib(free)} free of ${mib(limit)}, too little for ${what}`,
            setting:
              'maxmemory higher, or colony trim (serve trims on COLONY_TRIM_INTERVAL_MS), or fewer classes at once',
          },
    ];
  } finally {
    redis.disconnect();
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The destination answers and takes a write: a small object under the reserved `_colony/`. */
async function destinationFindings(config: Config, dest: string | undefined): Promise<Finding[]> {
  if (!dest)
    return [
      {
        level: 'warn',
        check: 'destination',
        message: 'no destination to check',
        setting: 'COLONY_DEST or --dest',
      },
    ];
  const destination = openDestination(dest, {
    endpoint: config.s3Endpoint,
    forcePathStyle: config.s3ForcePathStyle,
  });
  const key = '_colony/doctor/write-check';
  const body = Buffer.from(`colony doctor ${new Date().toISOString()}\n`);
  try {
    await destination.put(key, Readable.from([body]), {
      size: body.length,
      contentType: 'text/plain',
    });
    const back = await destination.head(key);
    if (back?.size !== body.length) throw new Error(`read back ${back?.size ?? 'nothing'} bytes`);
    return [
      { level: 'ok', check: 'destination', message: `destination ${dest}: reachable and writable` },
    ];
  } catch (err) {
    return [
      {
        level: 'error',
        check: 'destination',
        message: `destination ${dest}: cannot write ${key}: ${describeError(err)}`,
        setting:
          'COLONY_DEST, COLONY_S3_ENDPOINT, and credentials allowed s3:PutObject and s3:GetObject on the prefix',
      },
    ];
  } finally {
    await destination.close().catch(() => {});
  }
}

/** The Lambda function exists and may be invoked: an Invoke with InvocationType DryRun. */
async function lambdaFindings(config: Config): Promise<Finding[]> {
  if (config.runtime !== 'lambda')
    return [
      {
        level: 'ok',
        check: 'runtime',
        message: 'runtime local: copies run in the transfer processes',
      },
    ];
  if (!config.lambdaFunction)
    return [
      {
        level: 'error',
        check: 'runtime',
        message: 'COLONY_RUNTIME=lambda without a function',
        setting: 'COLONY_LAMBDA_FUNCTION (the FunctionName output of the template)',
      },
    ];
  const client = new LambdaClient({
    region: regionFromDefaultChain,
    endpoint: config.lambdaEndpoint,
    maxAttempts: 2,
  });
  try {
    await client.send(
      new InvokeCommand({ FunctionName: config.lambdaFunction, InvocationType: 'DryRun' }),
    );
    return [
      {
        level: 'ok',
        check: 'runtime',
        message: `Lambda function ${config.lambdaFunction}: reachable, may be invoked`,
      },
    ];
  } catch (err) {
    return [
      {
        level: 'error',
        check: 'runtime',
        message: `Lambda function ${config.lambdaFunction}: ${describeError(err)}`,
        setting:
          "COLONY_LAMBDA_FUNCTION, the region (AWS_REGION), and lambda:InvokeFunction for this identity (the template's InvokerPolicy)",
      },
    ];
  } finally {
    client.destroy();
  }
}

/** Every check `colony doctor` makes; `ok` only when none warns or fails. */
export async function runDoctor(
  config: Config,
  o: { dest?: string | undefined } = {},
): Promise<DoctorReport> {
  const findings: Finding[] = [];
  let redis: RedisReport | undefined;
  try {
    redis = await inspectRedis(config.redisUrl, { keys: new Keys(config.prefix, config.shards) });
    findings.push(...redis.findings);
    findings.push(...(await memoryFindings(config, redis)));
  } catch (err) {
    findings.push({
      level: 'error',
      check: 'redis',
      message: describeError(err),
      setting: 'REDIS_URL (a running Redis 6.2+)',
    });
  }
  findings.push(...(await destinationFindings(config, o.dest ?? config.dest)));
  findings.push(...(await lambdaFindings(config)));
  return {
    ok: findings.every((f) => f.level === 'ok'),
    findings,
    ...(redis ? { redis } : {}),
  };
}
