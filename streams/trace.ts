import { randomBytes } from 'node:crypto';
import { trace } from '@opentelemetry/api';

/** A new W3C traceparent: one trace follows a class from its request to its outcome. */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/**
 * The same trace, a new parent span: what a stage writes on the entries it derives. The parent is
 * the active span when it is a span of this trace of its own (tracing on), else a fresh span id.
 */
export function childTraceparent(parent: string | undefined): string {
  if (!parent) return newTraceparent();
  const [version, traceId, parentSpanId, flags] = parent.split('-');
  const active = trace.getActiveSpan()?.spanContext();
  const spanId =
    active && active.traceId === traceId && active.spanId !== parentSpanId
      ? active.spanId
      : randomBytes(8).toString('hex');
  return `${version}-${traceId}-${spanId}-${flags}`;
}
