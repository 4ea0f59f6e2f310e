import { ColonyError, DestinationError } from '../schemas/errors.js';

// Error codes that S3 sends with a 4xx status but that another attempt can fix: a body
// corrupted or cut short in transit, a slow client, a clock skew that NTP corrects.
const RETRYABLE_CODES = new Set(
  `BadDigest IncompleteBody RequestTimeout RequestTimeTooSkewed SlowDown Throttling
   ThrottlingException TooManyRequestsException XAmzContentSHA256Mismatch`.split(/\s+/),
);

// Errors without an HTTP status that no retry fixes: the SDK found no credentials to sign with.
const PERMANENT_NAMES = new Set(['CredentialsProviderError']);

/** An ETag without its quotes. */
export function unquote(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : etag.replace(/^"|"$/g, '');
}

/** The HTTP status of an AWS SDK error, when it has one. */
export function statusOf(err: unknown): number | undefined {
  const status = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata
    ?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The S3 error code (`NoSuchKey`, `SlowDown`) or the error's name. */
export function errorName(err: unknown): string | undefined {
  const e = err as { Code?: unknown; name?: unknown } | null;
  if (typeof e?.Code === 'string') return e.Code;
  return typeof e?.name === 'string' ? e.name : undefined;
}

/**
 * Turns SDK and network errors of an S3 request into DestinationErrors, retryable for 5xx,
 * 408, 429, network errors and the 4xx codes another attempt can fix; colony's own errors and
 * aborts pass unchanged. `where` names the object (`s3://bucket/key`).
 */
export function classifyS3Error(
  op: string,
  where: string,
  err: unknown,
  signal: AbortSignal | undefined,
): unknown {
  if (err instanceof ColonyError || signal?.aborted) return err;
  const status = statusOf(err);
  const name = errorName(err) ?? 'Error';
  const retryable =
    RETRYABLE_CODES.has(name) ||
    (status === undefined
      ? !PERMANENT_NAMES.has(name)
      : status >= 500 || status === 429 || status === 408);
  const detail = status === undefined ? name : `${name} (HTTP ${status})`;
  return new DestinationError(`${op} ${where} failed: ${detail}`, { cause: err, retryable });
}
