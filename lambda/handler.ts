import { CopyInvocation, type CopyInvocationResult } from '../schemas/lambda.js';
import { copyBatch } from '../copy/copy-batch.js';
import type { Destination } from '../copy/destinations/destination.js';
import { openDestination } from '../copy/destinations/open-destination.js';
import { Limiter } from '../copy/limiter.js';
import { SchemeSource } from '../copy/sources/scheme-source.js';

/** The part of the Lambda context object the handler uses. */
export type LambdaContext = { getRemainingTimeInMillis?(): number };

export type CopyHandler = {
  /** Copies a batch; throws only when the whole invocation is unusable (a bad payload, a bad destination). */
  handler(event: unknown, context?: LambdaContext): Promise<CopyInvocationResult>;
  /** Closes the connections kept between invocations (tests; Lambda just freezes the process). */
  close(): Promise<void>;
};

/** Kept back from the function's remaining time so that it answers with what finished. */
const ANSWER_MARGIN_MS = 2000;

/** Destinations and sources kept warm between invocations, up to this many of each. */
const MAX_CACHED = 32;

/** A payload that does not match the schema: the invocation fails as a whole. */
export class InvalidInvocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInvocationError';
  }
}

/**
 * Makes a copy handler: validates the payload, copies every file with bounded concurrency
 * through the same copyBatch as the local runtime, and answers one FileOutcome per file, so a
 * batch that half fails says which half. Sources and destinations (with their keep-alive
 * connections) stay open for the next invocation of a warm function.
 */
export function createHandler(): CopyHandler {
  const sources = new Map<string, SchemeSource>();
  const dests = new Map<string, Destination>();

  const cached = async <T extends { close(): Promise<void> }>(
    map: Map<string, T>,
    key: string,
    make: () => T,
  ): Promise<T> => {
    let value = map.get(key);
    if (!value) {
      if (map.size >= MAX_CACHED) {
        await Promise.all([...map.values()].map((v) => v.close().catch(() => undefined)));
        map.clear();
      }
      value = make();
      map.set(key, value);
    }
    return value;
  };

  return {
    async handler(event, context) {
      const parsed = CopyInvocation.safeParse(typeof event === 'string' ? safeJson(event) : event);
      if (!parsed.success) {
        const issues = parsed.error.issues
          .slice(0, 5)
          .map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`);
        throw new InvalidInvocationError(`invalid copy invocation: ${issues.join('; ')}`);
      }
      const p = parsed.data;
      const s3 = { endpoint: p.s3.endpoint, forcePathStyle: p.s3.forcePathStyle ?? false };
      const source = await cached(
        sources,
        JSON.stringify([s3, p.allowedOrigins, p.timeoutMs, p.concurrency]),
        () =>
          new SchemeSource({
            connections: p.concurrency,
            timeoutMs: p.timeoutMs,
            allowedOrigins: p.allowedOrigins,
            s3,
          }),
      );
      const dest = await cached(dests, JSON.stringify([p.dest, s3]), () =>
        openDestination(p.dest, s3),
      );

      const remaining = context?.getRemainingTimeInMillis?.();
      const limits = [
        p.budgetMs,
        remaining === undefined ? undefined : remaining - ANSWER_MARGIN_MS,
      ];
      const budget = Math.min(...limits.map((l) => l ?? Infinity));
      const signal = Number.isFinite(budget) ? AbortSignal.timeout(Math.max(0, budget)) : undefined;

      const results = await copyBatch(
        p.files,
        {
          source,
          dest,
          attempts: p.attempts,
          timeoutMs: p.timeoutMs,
          skipExisting: p.skipExisting,
          ...(p.cacheControl ? { cacheControl: p.cacheControl } : {}),
          ...(p.multipart ? { multipart: p.multipart } : {}),
          ...(signal ? { signal } : {}),
        },
        new Limiter(p.concurrency),
      );
      return { results };
    },

    async close() {
      const all = [...sources.values(), ...dests.values()];
      sources.clear();
      dests.clear();
      await Promise.all(all.map((c) => c.close().catch(() => undefined)));
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const defaultHandler = createHandler();

/** The Lambda entry point (`index.handler` in the bundle). */
export const handler = defaultHandler.handler;
