import { InvokeCommand, LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { Config } from '../../schemas/config.js';
import { ColonyError, ConfigError, ErrorCode, describeError } from '../../schemas/errors.js';
import type { FileOutcome, JobFile } from '../../schemas/events.js';
import {
  CopyInvocationResult,
  LAMBDA_PAYLOAD_VERSION,
  MAX_FILES_PER_INVOCATION,
  type CopyInvocationInput,
} from '../../schemas/lambda.js';
import { COPY_BACKOFF, backoffDelay, retryAfterOf, sleep } from '../../copy/backoff.js';
import { errorName, statusOf } from '../../copy/s3-errors.js';
import { regionFromDefaultChain } from '../../copy/s3-client.js';
import { Limiter } from '../../copy/limiter.js';
import type { Logger } from '../../streams/log.js';
import { metrics } from '../../streams/metrics.js';
import type { ClassTarget, TransferRuntime } from './runtime.js';

export type LambdaRuntimeOptions = {
  /** A ready client (tests); otherwise one is made from the configuration. */
  client?: LambdaClient;
  credentials?: LambdaClientConfig['credentials'];
  /** Tries of one invocation while it is throttled or the service fails. Default 8. */
  maxAttempts?: number;
  /** Tries of one invocation whose function fails (X-Amz-Function-Error). Default 3. */
  maxFunctionErrors?: number;
  /** First backoff, doubled per try, with full jitter; capped at backoffMaxMs. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Largest request payload; a batch that would be larger is split. Default 6,000,000 bytes. */
  payloadLimitBytes?: number;
  /** Where retried invocations are reported (throttling, function errors). */
  logger?: Pick<Logger, 'warn'>;
};

/** Lambda's limit for a synchronous request payload is 6 MiB; stay under it with room to spare. */
const PAYLOAD_LIMIT_BYTES = 6_000_000;
/** Time kept back from an invocation's timeout for the answer to travel back. */
const ANSWER_MARGIN_MS = 1500;
/** An invocation with less time than this left is not started. */
const MIN_INVOCATION_MS = 2500;

// Answers a later try can change: throttling, a function being updated or scaled, a service fault.
const RETRYABLE_ERRORS = new Set(
  `TooManyRequestsException ServiceException EC2ThrottledException ENILimitReachedException
   ResourceNotReadyException ResourceConflictException SubnetIPAddressLimitReachedException
   EFSMountConnectivityException EFSMountTimeoutException EFSIOException SnapStartTimeoutException
   TimeoutError RequestTimeout`.split(/\s+/),
);

/**
 * An invocation that did not produce results. The batch is handed back (the stage's handler
 * throws, nothing is acked) and redelivered: after SPLIT_AT_DELIVERY one file per entry, after
 * COLONY_MAX_DELIVERIES dead-lettered with each file failed and the reason.
 */
export class LambdaInvokeError extends ColonyError {
  constructor(
    message: string,
    code: typeof ErrorCode.LambdaInvoke | typeof ErrorCode.LambdaFunction,
    retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(code, message, {
      retryable,
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
    });
  }
}

/**
 * The Lambda runtime: each batch is copied by the function COLONY_LAMBDA_FUNCTION names, in
 * invocations of up to 100 files (RequestResponse), at most COLONY_LAMBDA_MAX_IN_FLIGHT of them
 * at once from this process. The function runs the same copy code as the local runtime and its
 * per-file outcomes are validated with the shared schema and returned as they are.
 *
 * Throttling and service errors are retried with exponential backoff and full jitter; a function
 * error (the function crashed, timed out or ran out of memory) is retried a few times, then the
 * batch is handed back by throwing. Everything happens within the visibility timeout: each
 * invocation is given less time than that, and a batch that runs out of time is handed back too.
 */
export class LambdaRuntime implements TransferRuntime {
  private readonly client: LambdaClient;
  private readonly functionName: string;
  private readonly limiter: Limiter;
  private readonly invocationTimeoutMs: number;
  private readonly budgetMs: number;
  private readonly payloadLimit: number;

  constructor(
    private readonly config: Config,
    private readonly options: LambdaRuntimeOptions = {},
  ) {
    if (!config.lambdaFunction) {
      throw new ConfigError(
        'COLONY_LAMBDA_FUNCTION: expected the name or ARN of the deployed copy function ' +
          '(see lambda/template.yaml) when COLONY_RUNTIME=lambda, got nothing',
      );
    }
    this.functionName = config.lambdaFunction;
    const visibility = config.visibilityTimeoutMs;
    this.invocationTimeoutMs = config.lambdaTimeoutMs ?? Math.floor(visibility * 0.8);
    if (this.invocationTimeoutMs >= visibility) {
      throw new ConfigError(
        `COLONY_LAMBDA_TIMEOUT_MS: expected less than COLONY_VISIBILITY_TIMEOUT_MS (${visibility}), ` +
          `got ${this.invocationTimeoutMs}: a batch still being copied would be claimed by another consumer`,
      );
    }
    this.budgetMs = Math.max(this.invocationTimeoutMs, Math.floor(visibility * 0.9));
    this.payloadLimit = options.payloadLimitBytes ?? PAYLOAD_LIMIT_BYTES;
    this.limiter = new Limiter(config.lambdaMaxInFlight);
    const agent = { keepAlive: true, maxSockets: config.lambdaMaxInFlight };
    this.client =
      options.client ??
      new LambdaClient({
        region: regionFromDefaultChain,
        endpoint: config.lambdaEndpoint,
        credentials: options.credentials,
        // Retries are ours: backoff with jitter, bounded by the batch's time.
        maxAttempts: 1,
        requestHandler: {
          // The socket is idle while the function runs: our own abort fires first.
          requestTimeout: this.invocationTimeoutMs + 5000,
          httpAgent: agent,
          httpsAgent: agent,
        },
      });
  }

  /** Copies the files on the function; see {@link TransferRuntime.copy}. */
  async copy(files: readonly JobFile[], target: ClassTarget): Promise<FileOutcome[]> {
    const deadline = Date.now() + this.budgetMs;
    const stop = new AbortController();
    const chunks: JobFile[][] = [];
    for (let i = 0; i < files.length; i += MAX_FILES_PER_INVOCATION) {
      chunks.push(files.slice(i, i + MAX_FILES_PER_INVOCATION));
    }
    try {
      const results = await Promise.all(
        chunks.map((c) => this.copyChunk(c, target, deadline, stop.signal)),
      );
      return results.flat();
    } catch (err) {
      // The other invocations of this batch are wasted now: the batch goes back as a whole.
      stop.abort(err);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (!this.options.client) this.client.destroy();
  }

  /** Up to 100 files: split while the payload is too large, then invoked until every file has an outcome. */
  private async copyChunk(
    files: JobFile[],
    target: ClassTarget,
    deadline: number,
    stop: AbortSignal,
  ): Promise<FileOutcome[]> {
    const size = Buffer.byteLength(
      JSON.stringify(this.payload(files, target, this.invocationTimeoutMs)),
    );
    if (size > this.payloadLimit) {
      if (files.length === 1) {
        throw new LambdaInvokeError(
          `file ${files[0]!.key}: an invocation payload of ${size} bytes is over the limit of ${this.payloadLimit}`,
          ErrorCode.LambdaInvoke,
          false,
        );
      }
      return this.split(files, target, deadline, stop);
    }

    const outcomes = new Map<number, FileOutcome>();
    let pending = files;
    let attempts = 0;
    let functionErrors = 0;
    while (pending.length > 0) {
      stop.throwIfAborted();
      const timeout = Math.min(this.invocationTimeoutMs, deadline - Date.now());
      if (timeout < MIN_INVOCATION_MS) {
        throw new LambdaInvokeError(
          `${this.functionName}: out of time for ${pending.length} file(s) of the batch (COLONY_VISIBILITY_TIMEOUT_MS)`,
          ErrorCode.LambdaInvoke,
          true,
        );
      }
      const answer = await this.invoke(
        this.payload(pending, target, timeout - ANSWER_MARGIN_MS),
        timeout,
        stop,
      ).then(
        (value) => ({ ok: true as const, value }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      if (!answer.ok) {
        const err = answer.err;
        if (stop.aborted) throw err;
        if (isTooLarge(err) && pending.length > 1) {
          for (const o of await this.split(pending, target, deadline, stop))
            outcomes.set(o.ordinal, o);
          break;
        }
        attempts++;
        if (!isRetryable(err) || attempts >= (this.options.maxAttempts ?? 8)) {
          throw new LambdaInvokeError(
            `invoke ${this.functionName} failed after ${attempts} tries: ${describeInvokeError(err)}`,
            ErrorCode.LambdaInvoke,
            isRetryable(err),
            { cause: err },
          );
        }
        this.options.logger?.warn('lambda invoke failed; retrying', {
          function: this.functionName,
          err: describeInvokeError(err),
          throttled: isThrottle(err),
          attempt: attempts,
          files: pending.length,
        });
        await sleep(this.backoff(attempts, retryAfterOf(err)));
        continue;
      }
      const verdict = this.read(answer.value, pending);
      if (!verdict.ok) {
        functionErrors++;
        if (functionErrors >= (this.options.maxFunctionErrors ?? 3)) {
          throw new LambdaInvokeError(
            `${this.functionName} failed ${functionErrors} times: ${verdict.reason}`,
            ErrorCode.LambdaFunction,
            true,
          );
        }
        this.options.logger?.warn('lambda function failed; retrying', {
          function: this.functionName,
          reason: verdict.reason,
          attempt: functionErrors,
          files: pending.length,
        });
        await sleep(this.backoff(functionErrors));
        continue;
      }
      // Files the function stopped for lack of time are sent again while this batch has time.
      const unfinished = new Set<number>();
      for (const o of verdict.results) {
        if (o.status === 'failed' && o.code === ErrorCode.Aborted) unfinished.add(o.ordinal);
        else outcomes.set(o.ordinal, o);
      }
      pending = pending.filter((f) => unfinished.has(f.ordinal));
    }
    return files.map((f) => outcomes.get(f.ordinal)!);
  }

  private async split(
    files: JobFile[],
    target: ClassTarget,
    deadline: number,
    stop: AbortSignal,
  ): Promise<FileOutcome[]> {
    const half = Math.ceil(files.length / 2);
    const parts = await Promise.all([
      this.copyChunk(files.slice(0, half), target, deadline, stop),
      this.copyChunk(files.slice(half), target, deadline, stop),
    ]);
    return parts.flat();
  }

  private payload(files: JobFile[], target: ClassTarget, budgetMs: number): CopyInvocationInput {
    const c = this.config;
    return {
      v: LAMBDA_PAYLOAD_VERSION,
      ...(target.classId ? { classId: target.classId } : {}),
      ...(target.run ? { run: target.run } : {}),
      dest: target.dest,
      ...(target.sourceBase ? { sourceBase: target.sourceBase } : {}),
      files,
      attempts: c.retryAttempts,
      timeoutMs: c.copyTimeoutMs,
      concurrency: c.lambdaCopyConcurrency,
      budgetMs: Math.max(1000, Math.floor(budgetMs)),
      s3: {
        ...(c.s3Endpoint ? { endpoint: c.s3Endpoint } : {}),
        forcePathStyle: c.s3ForcePathStyle,
      },
      allowedOrigins: c.allowedOrigins,
      skipExisting: c.skipExisting,
      multipart: { thresholdBytes: c.multipartThresholdBytes, partBytes: c.multipartPartBytes },
      ...(c.cacheControl ? { cacheControl: c.cacheControl } : {}),
    };
  }

  private async invoke(payload: CopyInvocationInput, timeoutMs: number, stop: AbortSignal) {
    const signal = AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)]);
    return this.limiter.run(async () => {
      const timer = metrics.lambdaDuration.startTimer();
      try {
        const output = await this.client.send(
          new InvokeCommand({
            FunctionName: this.functionName,
            InvocationType: 'RequestResponse',
            Payload: Buffer.from(JSON.stringify(payload)),
          }),
          { abortSignal: signal },
        );
        metrics.lambdaInvocations.inc({ result: output.FunctionError ? 'function_error' : 'ok' });
        return output;
      } catch (err) {
        const throttled = isThrottle(err);
        if (throttled) metrics.lambdaThrottles.inc();
        metrics.lambdaInvocations.inc({ result: throttled ? 'throttled' : 'error' });
        throw err;
      } finally {
        timer();
      }
    });
  }

  /** The function's answer: one valid outcome per file sent, or why not. */
  private read(
    output: { FunctionError?: string; Payload?: Uint8Array; StatusCode?: number },
    sent: readonly JobFile[],
  ): { ok: true; results: FileOutcome[] } | { ok: false; reason: string } {
    const text = output.Payload ? Buffer.from(output.Payload).toString('utf8') : '';
    if (output.FunctionError) {
      return {
        ok: false,
        reason: `function error (${output.FunctionError}): ${describeFunctionError(text)}`,
      };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, reason: `answer is not JSON (${text.slice(0, 200)})` };
    }
    const parsed = CopyInvocationResult.safeParse(json);
    if (!parsed.success) {
      return {
        ok: false,
        reason: `answer does not match the result schema: ${parsed.error.issues[0]?.message}`,
      };
    }
    const expected = new Map(sent.map((f) => [f.ordinal, f.key]));
    const seen = new Set<number>();
    for (const o of parsed.data.results) {
      if (expected.get(o.ordinal) !== o.key || seen.has(o.ordinal)) {
        return {
          ok: false,
          reason: `answer has an outcome for a file not sent (ordinal ${o.ordinal})`,
        };
      }
      seen.add(o.ordinal);
    }
    if (seen.size !== expected.size) {
      return { ok: false, reason: `answer has ${seen.size} outcomes for ${expected.size} files` };
    }
    return { ok: true, results: parsed.data.results };
  }

  private backoff(attempt: number, retryAfterMs?: number): number {
    return backoffDelay(
      attempt,
      {
        baseMs: this.options.backoffBaseMs ?? COPY_BACKOFF.baseMs,
        maxMs: this.options.backoffMaxMs ?? COPY_BACKOFF.maxMs,
        maxRetryAfterMs: COPY_BACKOFF.maxRetryAfterMs,
      },
      retryAfterMs,
    );
  }
}

/** Lambda said slow down: too many concurrent invocations or requests. */
function isThrottle(err: unknown): boolean {
  return errorName(err) === 'TooManyRequestsException' || statusOf(err) === 429;
}

function isTooLarge(err: unknown): boolean {
  return errorName(err) === 'RequestTooLargeException' || statusOf(err) === 413;
}

function isRetryable(err: unknown): boolean {
  const status = statusOf(err);
  const name = errorName(err) ?? '';
  return RETRYABLE_ERRORS.has(name) || status === undefined || status === 429 || status >= 500;
}

function describeInvokeError(err: unknown): string {
  const status = statusOf(err);
  const name = errorName(err) ?? 'Error';
  const message = describeError(err);
  return `${name}${status === undefined ? '' : ` (HTTP ${status})`}${message && message !== name ? `: ${message}` : ''}`;
}

/** `errorType: errorMessage` of a function error payload, or its first characters. */
function describeFunctionError(text: string): string {
  try {
    const e = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    if (typeof e.errorMessage === 'string') {
      return `${typeof e.errorType === 'string' ? `${e.errorType}: ` : ''}${e.errorMessage}`.slice(
        0,
        1000,
      );
    }
  } catch {
    // not JSON: shown as it is
  }
  return text.slice(0, 1000) || 'no details';
}
