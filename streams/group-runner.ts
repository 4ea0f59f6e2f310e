import { SpanKind } from '@opentelemetry/api';
import type { StreamEvent, StreamName } from '../schemas/events.js';
import { describeError } from '../schemas/errors.js';
import { LOOP_BACKOFF, backoffDelay, sleep } from '../copy/backoff.js';
import type { BlockingConnection } from './cluster.js';
import { decodeEntry, fieldsToRecord } from './codec.js';
import { deadLetter } from './dead-letter.js';
import type { Keys } from './keys.js';
import type { Liveness } from './liveness.js';
import type { Logger } from './log.js';
import {
  autoclaim,
  claimFromDeadConsumers,
  deliveryCounts,
  release,
  type RawEntry,
} from './reclaim.js';
import { metrics } from './metrics.js';
import type { ColonyRedis } from './scripts.js';
import {
  MESSAGING_SYSTEM,
  MessagingAttributes,
  TelemetryAttributes,
  bindDeliverySpan,
  endSpan,
  entryAttributes,
  startChildSpan,
} from './telemetry.js';

/** One valid entry handed to a stage. */
export type Delivery<T> = {
  id: string;
  event: T;
  /** How many times the group has delivered this entry, this time included. */
  deliveries: number;
  fields: Record<string, string>;
};

/**
 * What the handler says of a batch. Entries not named are acked. `release` hands entries back
 * for a later delivery; `dead` dead-letters them with a reason. A handler that throws acks
 * nothing: the batch is handed back and redelivered, and dead-lettered past max deliveries.
 */
export type BatchVerdict = void | { release?: string[]; dead?: { id: string; reason: string }[] };

export type GroupRunnerOptions<S extends StreamName> = {
  redis: ColonyRedis;
  /** A connection of its own for the blocking read (streams/redis.ts connectReader). */
  reader: BlockingConnection;
  keys: Keys;
  stream: S;
  shard?: number;
  group: string;
  liveness: Liveness;
  logger: Logger;
  batchSize: number;
  blockMs: number;
  visibilityTimeoutMs: number;
  maxDeliveries: number;
  /** Batches handled at once; reading stops while this many are in flight. */
  maxInFlight?: number;
  /** How long stop() waits for in-flight batches before handing them back. */
  stopTimeoutMs?: number;
  handle(batch: Delivery<StreamEvent<S>>[]): Promise<BatchVerdict>;
  /** Runs before an entry is dead-lettered for too many deliveries; must be idempotent. */
  beforeDeadLetter?(delivery: Delivery<StreamEvent<S>>, reason: string): Promise<void>;
};

/**
 * Runs one consumer of one consumer group on one stream shard: creates the group if missing,
 * reads new entries with XREADGROUP (finite BLOCK, on its own connection, under a watchdog),
 * takes over stalled entries (XAUTOCLAIM past the visibility timeout, and at once from consumers
 * whose liveness lapsed), validates every entry, dead-letters poison and over-delivered entries,
 * and XACKs only after the handler's effects are durable.
 */
export class GroupRunner<S extends StreamName> {
  readonly key: string;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly held = new Set<string>();
  private autoclaimCursor = '0-0';
  private nextAutoclaimAt = 0;
  private nextDeadScanAt = 0;
  private errorStreak = 0;
  private wakeOnStop: () => void = () => {};
  /** Settles when stop() is called, so that no wait in the loop outlives the stop timeout. */
  private readonly stopSignal = new Promise<void>((resolve) => {
    this.wakeOnStop = resolve;
  });

  constructor(private readonly o: GroupRunnerOptions<S>) {
    this.key = o.keys.stream(o.stream, o.shard ?? 0);
  }

  private get target() {
    return {
      redis: this.o.redis,
      key: this.key,
      group: this.o.group,
      consumer: this.o.liveness.name,
    };
  }

  /** Creates the group (reading from the start of the stream) and starts consuming. */
  async start(): Promise<void> {
    await this.ensureGroup();
    this.loop = this.run();
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.o.redis.xgroup('CREATE', this.key, this.o.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.waitForCapacity();
        if (this.stopping) break;
        const stalled = await this.takeStalled();
        const fresh = stalled.length > 0 ? [] : await this.readNew();
        this.errorStreak = 0;
        if (stalled.length) this.dispatch(stalled, true);
        if (fresh.length) this.dispatch(fresh, false);
      } catch (err) {
        this.errorStreak++;
        const message = describeError(err);
        if (message.includes('NOGROUP')) await this.ensureGroup().catch(() => {});
        if (this.errorStreak === 1 || this.errorStreak % 20 === 0) {
          this.o.logger.warn('consumer loop failed; retrying', {
            group: this.o.group,
            stream: this.key,
            err: message,
            failures: this.errorStreak,
          });
        }
        await Promise.race([
          sleep(backoffDelay(this.errorStreak, LOOP_BACKOFF), undefined, { unref: true }),
          this.stopSignal,
        ]);
      }
    }
  }

  private async waitForCapacity(): Promise<void> {
    const max = this.o.maxInFlight ?? 1;
    while (this.inFlight.size >= max && !this.stopping)
      await Promise.race([...this.inFlight, this.stopSignal]);
  }

  /** Stalled entries first: retried work goes ahead of fresh work. */
  private async takeStalled(): Promise<RawEntry[]> {
    const now = Date.now();
    if (now >= this.nextDeadScanAt) {
      this.nextDeadScanAt = now + Math.max(200, Math.floor(this.o.liveness.ttlMs / 2));
      const fromDead = await claimFromDeadConsumers(
        this.target,
        this.o.liveness,
        this.o.batchSize,
        Math.min(this.o.liveness.ttlMs, this.o.visibilityTimeoutMs),
      );
      if (fromDead.length) return fromDead;
    }
    if (now >= this.nextAutoclaimAt) {
      const { entries, cursor } = await autoclaim(
        this.target,
        this.o.visibilityTimeoutMs,
        this.autoclaimCursor,
        this.o.batchSize,
      );
      this.autoclaimCursor = cursor;
      if (cursor === '0-0') {
        this.nextAutoclaimAt = now + Math.max(100, Math.floor(this.o.visibilityTimeoutMs / 4));
      }
      return entries;
    }
    return [];
  }

  /** XREADGROUP with a finite BLOCK, raced against a watchdog that resets a hung connection. */
  private async readNew(): Promise<RawEntry[]> {
    const read = this.o.reader.call(
      'XREADGROUP',
      'GROUP',
      this.o.group,
      this.o.liveness.name,
      'COUNT',
      this.o.batchSize,
      'BLOCK',
      this.o.blockMs,
      'STREAMS',
      this.key,
      '>',
    ) as Promise<[string, RawEntry[]][] | null>;
    let timer: NodeJS.Timeout | undefined;
    const watchdog = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => resolve('hung'), this.o.blockMs + 5000);
    });
    const reply = await Promise.race([read, watchdog]).finally(() => clearTimeout(timer));
    if (reply === 'hung') {
      read.catch(() => {});
      this.o.logger.warn('blocking read hung; reconnecting', {
        group: this.o.group,
        stream: this.key,
      });
      this.o.reader.disconnect(true);
      return [];
    }
    return reply?.[0]?.[1] ?? [];
  }

  private dispatch(entries: RawEntry[], redelivered: boolean): void {
    for (const [id] of entries) this.held.add(id);
    const task = this.process(entries, redelivered)
      .catch((err) => {
        this.o.logger.warn('batch handed back', {
          group: this.o.group,
          stream: this.key,
          entries: entries.length,
          err: describeError(err),
        });
        return release(
          this.target,
          entries.map(([id]) => id),
          this.o.visibilityTimeoutMs,
        ).catch(() => {});
      })
      .finally(() => {
        for (const [id] of entries) this.held.delete(id);
        this.inFlight.delete(task);
      });
    this.inFlight.add(task);
  }

  private async process(entries: RawEntry[], redelivered: boolean): Promise<void> {
    const counts = redelivered
      ? await deliveryCounts(
          this.target,
          entries.map(([id]) => id),
        )
      : new Map<string, number>();
    const valid: Delivery<StreamEvent<S>>[] = [];
    for (const [id, flat] of entries) {
      const fields = fieldsToRecord(flat);
      const deliveries = counts.get(id) ?? 1;
      let event: StreamEvent<S>;
      try {
        event = decodeEntry(this.o.stream, fields);
      } catch (err) {
        await this.bury({ id, fields, deliveries }, describeError(err));
        continue;
      }
      const delivery = { id, event, deliveries, fields };
      if (deliveries > this.o.maxDeliveries) {
        const reason = `delivered ${deliveries} times (max ${this.o.maxDeliveries})`;
        await this.o.beforeDeadLetter?.(delivery, reason);
        await this.bury(delivery, reason);
        continue;
      }
      valid.push(delivery);
    }
    if (valid.length === 0) return;
    const spans = valid.map((d) => this.startSpan(d));
    try {
      const verdict = (await this.o.handle(valid)) ?? {};
      const released = new Set(verdict.release ?? []);
      const dead = new Map((verdict.dead ?? []).map((d) => [d.id, d.reason]));
      for (const d of valid) {
        const reason = dead.get(d.id);
        if (reason !== undefined) await this.bury(d, reason);
      }
      const ack = valid.filter((d) => !released.has(d.id) && !dead.has(d.id)).map((d) => d.id);
      if (ack.length) await this.o.redis.xack(this.key, this.o.group, ...ack);
      if (released.size) await release(this.target, [...released], this.o.visibilityTimeoutMs);
      valid.forEach(({ id }, i) => {
        const reason = dead.get(id);
        const outcome = reason !== undefined ? 'dead' : released.has(id) ? 'released' : 'acked';
        metrics.deliveries.inc({ group: this.o.group, outcome });
        endSpan(spans[i]!, outcome, reason);
      });
    } catch (err) {
      metrics.deliveries.inc({ group: this.o.group, outcome: 'error' }, valid.length);
      for (const span of spans) endSpan(span, 'error', describeError(err));
      throw err;
    }
  }

  /**
   * One CONSUMER span per delivery, child of the PRODUCER span the entry's traceparent names and
   * linked to it, so that the class's trace runs on through every stage.
   */
  private startSpan(d: Delivery<StreamEvent<S>>) {
    const span = startChildSpan(
      `process ${this.o.stream}`,
      d.event.traceparent,
      SpanKind.CONSUMER,
      {
        [MessagingAttributes.System]: MESSAGING_SYSTEM,
        [MessagingAttributes.Destination]: this.key,
        [MessagingAttributes.OperationType]: 'process',
        [MessagingAttributes.OperationName]: 'process',
        [MessagingAttributes.ConsumerGroup]: this.o.group,
        [MessagingAttributes.MessageId]: d.id,
        [TelemetryAttributes.Stage]: this.o.group,
        [TelemetryAttributes.Stream]: this.key,
        [TelemetryAttributes.EntryId]: d.id,
        [TelemetryAttributes.Deliveries]: d.deliveries,
        ...entryAttributes(d.event),
      },
      { link: true },
    );
    bindDeliverySpan(d, span);
    return span;
  }

  private async bury(
    d: { id: string; fields: Record<string, string>; deliveries: number },
    reason: string,
  ) {
    this.o.logger.warn('entry dead-lettered', {
      group: this.o.group,
      stream: this.key,
      entry_id: d.id,
      deliveries: d.deliveries,
      reason,
    });
    await deadLetter(this.o.redis, this.o.keys, {
      stream: this.o.stream,
      sourceKey: this.key,
      group: this.o.group,
      id: d.id,
      fields: d.fields,
      deliveries: d.deliveries,
      reason,
    });
    metrics.deadLettered.inc({ stream: this.o.stream });
  }

  /**
   * Stops taking work, lets in-flight batches finish within the stop timeout, and hands back
   * whatever is still held so that a live consumer claims it at once.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeOnStop();
    await this.loop;
    const deadline = sleep(this.o.stopTimeoutMs ?? 10_000, undefined, { unref: true }).then(
      () => 'timeout' as const,
    );
    while (this.inFlight.size > 0) {
      if ((await Promise.race([Promise.race(this.inFlight), deadline])) === 'timeout') break;
    }
    if (this.held.size > 0) {
      await release(this.target, [...this.held], this.o.visibilityTimeoutMs).catch(() => {});
    }
    // A consumer that stopped holding nothing leaves its group, so that `colony status` does not
    // list it for ever; one still holding entries stays until another consumer takes them.
    await this.o.redis
      .deleteIdleConsumer(this.key, this.o.group, this.o.liveness.name)
      .catch(() => {});
  }

  /** Whether this runner is idle: nothing in flight. */
  get idle(): boolean {
    return this.inFlight.size === 0;
  }
}
