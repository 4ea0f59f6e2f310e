import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { TRACEPARENT_PATTERN, type StreamEvent, type StreamName } from '../schemas/events.js';
import { withLogFields, type LogFields } from './log-scope.js';
import { newTraceparent } from './trace.js';

/**
 * Tracing through @opentelemetry/api only: with no SDK registered (see cli/telemetry.ts) every
 * span is a no-op and nothing here costs more than a few object allocations.
 */
export const tracer = trace.getTracer('colony');

/** Span attribute names, spelled in this one place. */
export enum TelemetryAttributes {
  Stage = 'colony.stage',
  Stream = 'colony.stream',
  EventType = 'colony.event_type',
  ClassId = 'colony.class_id',
  EntryId = 'colony.entry_id',
  Deliveries = 'colony.deliveries',
  Files = 'colony.files',
  ManifestUrl = 'colony.manifest_url',
  Outcome = 'colony.outcome',
}

/**
 * OpenTelemetry messaging conventions (semconv 1.27+): a PRODUCER span `send <stream>` per
 * entry appended, a CONSUMER span `process <stream>` per delivery, child of and linked to the
 * span that produced the entry. Redis has no registered `messaging.system` value; `redis` is it.
 */
export enum MessagingAttributes {
  System = 'messaging.system',
  Destination = 'messaging.destination.name',
  OperationType = 'messaging.operation.type',
  OperationName = 'messaging.operation.name',
  ConsumerGroup = 'messaging.consumer.group.name',
  MessageId = 'messaging.message.id',
}
export const MESSAGING_SYSTEM = 'redis';

/** What became of a delivery: acked, handed back, dead-lettered, or handed back by a throw. */
export type DeliveryOutcome = 'acked' | 'released' | 'dead' | 'error';

/** The span context a W3C traceparent names, marked remote; undefined when it names none. */
export function remoteSpanContext(traceparent: string | undefined): SpanContext | undefined {
  const m = traceparent ? TRACEPARENT_PATTERN.exec(traceparent) : null;
  if (!m || m[1] === 'ff') return undefined;
  const spanContext: SpanContext = {
    traceId: m[2]!,
    spanId: m[3]!,
    traceFlags: parseInt(m[4]!, 16),
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/**
 * Starts a span as the child of the span an entry's traceparent names. Entries without one start
 * a trace of their own: never a child of whatever happens to be active in the consumer loop.
 */
export function startChildSpan(
  name: string,
  traceparent: string | undefined,
  kind: SpanKind,
  attributes: Attributes,
  options: { link?: boolean } = {},
): Span {
  const remote = remoteSpanContext(traceparent);
  const parent = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
  const links: Link[] = remote && options.link ? [{ context: remote }] : [];
  return tracer.startSpan(name, { kind, attributes: redactAttributes(attributes), links }, parent);
}

/** The W3C traceparent naming a span; undefined for an invalid (no trace) context. */
export function formatTraceparent(span: SpanContext): string | undefined {
  if (!isSpanContextValid(span)) return undefined;
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The traceparent of a new trace for a request that arrived without one (the command line, a
 * catalog): a root span, ended at once, so that the trace has its root; a fresh random
 * traceparent when tracing is off.
 */
export function rootTraceparent(name: string, attributes: Attributes): string {
  const span = tracer.startSpan(name, {
    kind: SpanKind.INTERNAL,
    root: true,
    attributes: redactAttributes(attributes),
  });
  span.end();
  return formatTraceparent(span.spanContext()) ?? newTraceparent();
}

/** trace_id and span_id of a span for log lines; nothing for an invalid context. */
export function traceLogFields(span: SpanContext): LogFields {
  return isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

/**
 * A URL or path with its query string dropped, wherever it appears in a value: signed URLs and
 * tokens never reach a span. A `?` counts as a query when the text before it looks like a URL or
 * path (contains `/`, `.` or `:`), so a question in plain prose is left alone.
 */
export function redact(value: string): string {
  return value.replace(/([^\s?#'"<>]*[/.:][^\s?#'"<>]*)\?[^\s#'"<>]*/g, '$1');
}

/** Attributes with every string value (and string in an array) passed through redact(). */
export function redactAttributes(attributes: Attributes): Attributes {
  const out: Attributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'string') out[name] = redact(value);
    else if (Array.isArray(value))
      out[name] = value.map((v) => (typeof v === 'string' ? redact(v) : v)) as typeof value;
    else if (value !== undefined) out[name] = value;
  }
  return out;
}

/** What a span says of a stream entry: its type, class, file count and manifest (redacted). */
export function entryAttributes(event: StreamEvent<StreamName>): Attributes {
  const attributes: Attributes = { [TelemetryAttributes.EventType]: event.type };
  if ('classId' in event) attributes[TelemetryAttributes.ClassId] = event.classId;
  if ('manifestUrl' in event) attributes[TelemetryAttributes.ManifestUrl] = event.manifestUrl;
  if ('results' in event) attributes[TelemetryAttributes.Files] = event.results.length;
  else if ('files' in event)
    attributes[TelemetryAttributes.Files] = Array.isArray(event.files)
      ? event.files.length
      : event.files;
  return redactAttributes(attributes);
}

/** Ends a span with its outcome; an error message (redacted) sets the status to ERROR. */
export function endSpan(span: Span, outcome: DeliveryOutcome, error?: string): void {
  if (!span.isRecording()) return;
  span.setAttribute(TelemetryAttributes.Outcome, outcome);
  if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: redact(error) });
  span.end();
}

const deliverySpans = new WeakMap<object, Span>();

/** Remembers the span of a delivery, for runInDeliverySpan(). */
export function bindDeliverySpan(delivery: object, span: Span): void {
  deliverySpans.set(delivery, span);
}

/**
 * Runs a stage's work for one delivery with the delivery's span active, so that the entries it
 * derives (childTraceparent) name that span as their parent. Stages get whole batches, so the
 * runner cannot make one span active for them.
 */
export function runInDeliverySpan<T>(delivery: object, fn: () => T): T {
  const span = deliverySpans.get(delivery);
  if (!span) return fn();
  // Log lines inside carry the delivery's trace and class, traced or not.
  const classId = (delivery as { event?: { classId?: unknown } }).event?.classId;
  const fields: LogFields = {
    ...traceLogFields(span.spanContext()),
    ...(typeof classId === 'string' ? { class_id: classId } : {}),
  };
  return withLogFields(fields, () => context.with(trace.setSpan(context.active(), span), fn));
}
