import { openDestination } from '../copy/destinations/open-destination.js';
import { probeDestination } from '../copy/destinations/probe-destination.js';
import { HttpSource } from '../copy/sources/http-source.js';
import type { Config } from '../schemas/config.js';
import { ColonyError, ErrorCode, describeError } from '../schemas/errors.js';
import { redactQuery } from '../consumers/crawl/source-key.js';

/** How long a check may take: a dead origin or store is reported within seconds. */
const CHECK_TIMEOUT_MS = 10_000;

/** A transfer that cannot start: its destination or a manifest is not usable. */
export class PreflightError extends ColonyError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * Checks, before anything is enqueued, what would otherwise fail slowly and file by file: that
 * the destination takes a write (a probe object under `_colony/`, deleted again) and that every
 * manifest answers with a playlist. Each failure is one line with its cause.
 *
 * @throws PreflightError naming the destination or the manifest and why it cannot be used.
 */
export async function preflight(o: {
  manifests: readonly string[];
  dest: string | undefined;
  config: Config;
}): Promise<void> {
  if (o.dest !== undefined) await checkDestination(o.dest, o.config);
  if (o.manifests.length) await checkManifests(o.manifests, o.config);
}

async function checkDestination(url: string, config: Config): Promise<void> {
  const dest = openDestination(url, {
    endpoint: config.s3Endpoint,
    forcePathStyle: config.s3ForcePathStyle,
  });
  try {
    await probeDestination(dest, CHECK_TIMEOUT_MS);
  } catch (err) {
    const why = isTimeout(err)
      ? `no answer within ${CHECK_TIMEOUT_MS / 1000} s`
      : describeError(err);
    throw new PreflightError(ErrorCode.Destination, `cannot write to ${url}: ${why}`);
  } finally {
    await dest.close().catch(() => {});
  }
}

async function checkManifests(urls: readonly string[], config: Config): Promise<void> {
  const source = new HttpSource({
    timeoutMs: Math.min(config.copyTimeoutMs, CHECK_TIMEOUT_MS),
    allowedOrigins: config.allowedOrigins,
    connections: 8,
  });
  try {
    const queue = [...new Set(urls)];
    const worker = async (): Promise<void> => {
      for (let url = queue.shift(); url !== undefined; url = queue.shift()) {
        try {
          await source.fetchText(url, {
            maxBytes: config.maxPlaylistBytes,
            timeoutMs: Math.min(config.copyTimeoutMs, CHECK_TIMEOUT_MS),
          });
        } catch (err) {
          queue.length = 0;
          throw new PreflightError(
            ErrorCode.SourcePermanent,
            `cannot read the manifest ${redactQuery(url)}: ${describeError(err)}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
  } finally {
    await source.close().catch(() => {});
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}
