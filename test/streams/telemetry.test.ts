import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-node';
import { SpanKind } from '@opentelemetry/api';
import { startServiceHttp } from '../../cli/http-server.js';
import { startSampleOrigin } from '../../cli/sample-origin.js';
import { signWebhook } from '../../consumers/requests/webhook-signature.js';
import { requestClass } from '../../consumers/requests/ingest.js';
import { startStages } from '../../consumers/stages.js';
import { isFinished } from '../../schemas/class-state.js';
import { decodeEntry, fieldsToRecord } from '../../streams/codec.js';
import { ClassStore } from '../../streams/class-store.js';
import { Keys } from '../../streams/keys.js';
import { silentLogger } from '../../streams/log.js';
import { Publisher } from '../../streams/publisher.js';
import {
  MessagingAttributes,
  TelemetryAttributes,
  redact,
  remoteSpanContext,
} from '../../streams/telemetry.js';
import { childTraceparent } from '../../streams/trace.js';
import { HLS_ROOT } from '../helpers/fixtures.js';
import { TEST_REDIS_URL, deletePrefix, testConfig, testRedis, waitFor } from '../helpers/redis.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const cleanups: (() => Promise<void>)[] = [];

before(() => {
  provider.register();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('redact', () => {
  test('drops query strings from URLs and paths, leaves prose alone', () => {
    assert.equal(
      redact('https://cdn.example/a/b.m3u8?token=secret&x=1'),
      'https://cdn.example/a/b.m3u8',
    );
    assert.equal(
      redact('GET s3://bucket/key.ts?X-Amz-Signature=abc failed: 403'),
      'GET s3://bucket/key.ts failed: 403',
    );
    assert.equal(redact('seg0.ts?sig=1 and /hls/x?y=2'), 'seg0.ts and /hls/x');
    assert.equal(redact('is it done?'), 'is it done?');
  });

  test('childTraceparent keeps the trace id and takes the active span as parent', () => {
    const parent = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const remote = remoteSpanContext(parent)!;
    const span = trace
      .getTracer('t')
      .startSpan('x', {}, trace.setSpanContext(context.active(), remote));
    const child = context.with(trace.setSpan(context.active(), span), () =>
      childTraceparent(parent),
    );
    span.end();
    assert.equal(child, `00-${'a'.repeat(32)}-${span.spanContext().spanId}-01`);
    assert.match(childTraceparent(parent), new RegExp(`^00-${'a'.repeat(32)}-[0-9a-f]{16}-01$`));
  });
});

describe('a request without a trace', () => {
  test('starts one at a root span, parent of the class-completed entry', async () => {
    // Prepare
    const config = testConfig();
    cleanups.push(() => deletePrefix(TEST_REDIS_URL, config.prefix));
    const redis = await testRedis();
    cleanups.push(async () => redis.disconnect());
    const keys = new Keys(config.prefix);

    // Act: as colony transfer and colony scan request classes.
    await requestClass(new ClassStore(redis, keys), new Publisher(redis, keys), {
      classId: 'cli-class',
      manifestUrl: 'https://cdn.example/a.m3u8',
      dest: 'file:///tmp/unused',
    });

    // Assess
    const spans = exporter.getFinishedSpans();
    const root = spans.find(
      (s) =>
        s.name === 'request class' && s.attributes[TelemetryAttributes.ClassId] === 'cli-class',
    );
    assert.ok(root, 'a root span for the request');
    assert.equal(root.parentSpanContext, undefined);
    const send = spans.find(
      (s) => s.name === 'send classes' && s.spanContext().traceId === root.spanContext().traceId,
    );
    assert.equal(send?.parentSpanContext?.spanId, root.spanContext().spanId);
  });
});

describe('tracing through the stages', () => {
  test('one trace from the studio request through every batch and result to class-transferred', async () => {
    // Prepare: the three stages and the webhook in this process, an origin on loopback, a
    // manifest URL with a token, batches of 2 files so that the class has several.
    const origin = await startSampleOrigin({ root: HLS_ROOT });
    cleanups.push(() => origin.close());
    const out = await mkdtemp(join(tmpdir(), 'colony-telemetry-'));
    cleanups.push(() => rm(out, { recursive: true, force: true }));
    const secret = 'whsec-telemetry-0123456789';
    const config = testConfig({ batchSize: 2, webhookSecret: secret, dest: `file://${out}` });
    cleanups.push(() => deletePrefix(TEST_REDIS_URL, config.prefix));
    const host = await startStages({
      config,
      stages: ['crawler', 'transfer', 'aggregator'],
      logger: silentLogger,
    });
    cleanups.push(() => host.stop());
    const http = await startServiceHttp({
      port: 0,
      host: '127.0.0.1',
      redis: host.redis,
      deps: host.deps,
      info: {},
    });
    cleanups.push(() => http.close());
    const plainUrl = `${origin.url}/hls/media-only/index.m3u8`;
    const classId = 'telemetry-class';
    const body = JSON.stringify({ classId, manifestUrl: `${plainUrl}?token=secret` });
    const studioTrace = 'c0ffee'.padEnd(32, '1');
    const studioSpan = 'beef'.padEnd(16, '2');

    // Act: the studio's request, carrying its own trace.
    const res = await fetch(`${http.url}/hooks/class-completed`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-colony-signature': signWebhook(secret, body),
        traceparent: `00-${studioTrace}-${studioSpan}-01`,
      },
      body,
    });
    assert.equal(res.status, 202, await res.text());
    const state = await waitFor(
      async () => {
        const s = await host.deps.classes.get(classId);
        return s && isFinished(s) ? s : undefined;
      },
      30_000,
      'class to finish',
    );
    const named = (name: string) =>
      exporter
        .getFinishedSpans()
        .filter((s) => s.spanContext().traceId === studioTrace && s.name === name);
    // The aggregator's span ends once its batch is acked, just after the outcome was published.
    await waitFor(
      async () =>
        named('send outcomes').length > 0 && named('process results').length >= 2
          ? true
          : undefined,
      10_000,
      'outcome span',
    );
    const spans = exporter.getFinishedSpans();
    const ofTrace = spans.filter((s) => s.spanContext().traceId === studioTrace);
    const shown = ofTrace.map(
      (s) => `${s.name} ${s.spanContext().spanId}<-${s.parentSpanContext?.spanId}`,
    );
    const one = (name: string) => {
      const found = named(name);
      assert.equal(found.length, 1, `one ${name} span: ${shown.join(', ')}`);
      return found[0]!;
    };
    const childrenOf = (parents: ReadableSpan[], name: string) => {
      const ids = new Set(parents.map((p) => p.spanContext().spanId));
      const children = named(name);
      for (const c of children)
        assert.ok(
          ids.has(c.parentSpanContext?.spanId ?? ''),
          `${name} has a known parent: ${shown.join(', ')}`,
        );
      return children;
    };

    // Assess: the chain, span by span.
    assert.equal(state.status, 'transferred');
    const batches = Math.ceil(state.total / 2);
    assert.ok(batches >= 2, 'several batches');
    const server = one('POST /hooks/class-completed');
    assert.equal(server.kind, SpanKind.SERVER);
    assert.equal(
      server.parentSpanContext?.spanId,
      studioSpan,
      'the webhook continues the studio trace',
    );
    assert.equal(server.attributes['http.response.status_code'], 202);
    const sendClass = one('send classes');
    assert.equal(sendClass.kind, SpanKind.PRODUCER);
    assert.equal(sendClass.parentSpanContext?.spanId, server.spanContext().spanId);
    const crawl = one('process classes');
    assert.equal(crawl.kind, SpanKind.CONSUMER);
    assert.equal(crawl.parentSpanContext?.spanId, sendClass.spanContext().spanId);
    assert.deepEqual(
      crawl.links.map((l) => l.context.spanId),
      [sendClass.spanContext().spanId],
      'the consumer span links to the producer span',
    );
    assert.equal(crawl.attributes[MessagingAttributes.ConsumerGroup], 'crawler');
    const sendJobs = childrenOf([crawl], 'send jobs');
    assert.equal(sendJobs.length, batches, 'one producer span per jobs batch');
    const copies = childrenOf(sendJobs, 'process jobs');
    assert.equal(copies.length, batches, 'every batch was processed in the trace');
    assert.equal(
      copies.reduce((n, s) => n + Number(s.attributes[TelemetryAttributes.Files]), 0),
      state.total,
      'transfer spans count every file',
    );
    const sendResults = childrenOf(copies, 'send results');
    assert.equal(sendResults.length, batches, 'one results entry per batch');
    const counted = childrenOf(sendResults, 'process results');
    assert.equal(counted.length, batches, 'every result was counted in the trace');
    const outcome = one('send outcomes');
    assert.equal(outcome.kind, SpanKind.PRODUCER);
    assert.equal(outcome.attributes[TelemetryAttributes.EventType], 'class-transferred');
    childrenOf(counted, 'send outcomes');
    for (const s of [crawl, ...copies, ...counted])
      assert.equal(s.attributes[TelemetryAttributes.Outcome], 'acked', s.name);
    for (const s of sendJobs)
      assert.ok(String(s.attributes[MessagingAttributes.MessageId]).includes('-'), 'the entry id');

    // The entries on the streams carry the producer spans' traceparents.
    const [entry] = await host.redis.xrange(host.deps.keys.stream('outcomes'), '-', '+');
    const published = decodeEntry('outcomes', fieldsToRecord(entry![1]));
    assert.equal(remoteSpanContext(published.traceparent)?.spanId, outcome.spanContext().spanId);
    assert.equal(
      crawl.attributes[TelemetryAttributes.ManifestUrl],
      plainUrl,
      'manifest URL without its query',
    );

    // Nothing any span says, in any attribute or status, holds a query string or the token.
    for (const span of spans) {
      const said = JSON.stringify([span.name, span.attributes, span.status, span.events]);
      assert.ok(!said.includes('?'), `${span.name} says no query string: ${said}`);
      assert.ok(!said.includes('secret'), `${span.name} does not carry the token`);
    }
  });
});
