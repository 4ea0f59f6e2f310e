import { SpanKind, type Span } from '@opentelemetry/api';
import type { StreamEvent, StreamName } from '../schemas/events.js';
import { describeError } from '../schemas/errors.js';
import { encodeEntry } from './codec.js';
import type { Keys } from './keys.js';
import { replicate } from './redis.js';
import type { ColonyRedis } from './scripts.js';
import {
  MESSAGING_SYSTEM,
  MessagingAttributes,
  TelemetryAttributes,
  endSpan,
  entryAttributes,
  formatTraceparent,
  startChildSpan,
} from './telemetry.js';

/** How many XADDs go in one pipeline: large enough to amortise round trips, small enough to
 * keep one reply buffer modest. */
const CHUNK = 2000;

/** The narrow publishing interface that stages depend on. */
export interface EventPublisher {
  publish<S extends StreamName>(stream: S, events: readonly StreamEvent<S>[]): Promise<string[]>;
}

/**
 * Validates events against their stream's schema and appends them with pipelined XADDs. The hot
 * streams are routed to the shard of each file, the others go to their single stream.
 *
 * Each entry gets a PRODUCER span `send <stream>`, child of the span its traceparent names (the
 * stage's delivery, or the webhook's request), and the entry carries that span's traceparent, so
 * the consumer of the entry is its child. With tracing off the traceparent stays as it was.
 */
export class Publisher implements EventPublisher {
  constructor(
    private readonly redis: ColonyRedis,
    private readonly keys: Keys,
  ) {}

  async publish<S extends StreamName>(
    stream: S,
    events: readonly StreamEvent<S>[],
  ): Promise<string[]> {
    const ids: string[] = [];
    const written = new Set<string>();
    for (let start = 0; start < events.length; start += CHUNK) {
      const pipeline = this.redis.pipeline();
      const spans: Span[] = [];
      let replies: [Error | null, unknown][];
      try {
        for (const event of events.slice(start, start + CHUNK)) {
          const key = this.keyFor(stream, event);
          written.add(key);
          const span = startChildSpan(`send ${stream}`, event.traceparent, SpanKind.PRODUCER, {
            [MessagingAttributes.System]: MESSAGING_SYSTEM,
            [MessagingAttributes.Destination]: key,
            [MessagingAttributes.OperationType]: 'send',
            [MessagingAttributes.OperationName]: 'xadd',
            [TelemetryAttributes.Stream]: key,
            ...entryAttributes(event),
          });
          spans.push(span);
          const traceparent = formatTraceparent(span.spanContext()) ?? event.traceparent;
          const sent = traceparent === event.traceparent ? event : { ...event, traceparent };
          pipeline.xadd(key, '*', ...encodeEntry(stream, sent));
        }
        replies = (await pipeline.exec()) ?? [];
      } catch (err) {
        for (const span of spans) endSpan(span, 'error', describeError(err));
        throw err;
      }
      replies.forEach(([err, id], i) => {
        const span = spans[i]!;
        if (err) return endSpan(span, 'error', err.message);
        if (!span.isRecording()) return;
        span.setAttribute(MessagingAttributes.MessageId, String(id));
        span.end();
      });
      for (const [err, id] of replies) {
        if (err) throw err;
        ids.push(String(id));
      }
    }
    // The caller acks what these entries stand for, maybe on another node: on a cluster they
    // must be on a replica first.
    await replicate(this.redis, written);
    return ids;
  }

  /** A batch goes to the shard of its first file, so the batches of one class spread out. */
  private keyFor<S extends StreamName>(stream: S, event: StreamEvent<S>): string {
    const e = event as {
      classId?: string;
      files?: { ordinal: number }[];
      results?: { ordinal: number }[];
    };
    if (this.keys.shardCount(stream) > 1 && e.classId !== undefined) {
      const ordinal = e.files?.[0]?.ordinal ?? e.results?.[0]?.ordinal ?? 0;
      return this.keys.stream(
        stream,
        this.keys.shardOf(stream, e.classId, Math.floor(ordinal / 16)),
      );
    }
    return this.keys.stream(stream);
  }
}
