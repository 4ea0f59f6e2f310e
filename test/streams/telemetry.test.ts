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
import { startSampleOrigin } from '../../cli/sample-origin.js';
import { classIdFor, requestClass } from '../../consumers/requests/ingest.js';
import { startStages } from '../../consumers/stages.js';
import { isFinished } from '../../schemas/class-state.js';
import { decodeEntry, fieldsToRecord } from '../../streams/codec.js';
import { silentLogger } from '../../streams/log.js';
import { TelemetryAttributes, redact, remoteSpanContext } from '../../streams/telemetry.js';
import { childTraceparent } from '../../streams/trace.js';
import { HLS_ROOT } from '../helpers/fixtures.js';
import { TEST_REDIS_URL, deletePrefix, testConfig, waitFor } from '../helpers/redis.js';

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

describe('tracing through the stages', () => {
  test('one trace from the class request to its outcome, with no query string in any span', async () => {
    // Prepare: the three stages in this process, an origin on loopback, a manifest URL with a token.
    const origin = await startSampleOrigin({ root: HLS_ROOT });
    cleanups.push(() => origin.close());
    const out = await mkdtemp(join(tmpdir(), 'colony-telemetry-'));
    cleanups.push(() => rm(out, { recursive: true, force: true }));
    const config = testConfig();
    cleanups.push(() => deletePrefix(TEST_REDIS_URL, config.prefix));
    const host = await startStages({
      config,
      stages: ['crawler', 'transfer', 'aggregator'],
      logger: silentLogger,
    });
    cleanups.push(() => host.stop());
    const plainUrl = `${origin.url}/hls/media-only/index.m3u8`;
    const manifestUrl = `${plainUrl}?token=secret`;
    const dest = `file://${out}`;
    const classId = classIdFor(manifestUrl, dest);

    // Act
    await requestClass(host.deps.classes, host.deps.publisher, { classId, manifestUrl, dest });
    const state = await waitFor(
      async () => {
        const s = await host.deps.classes.get(classId);
        return s && isFinished(s) ? s : undefined;
      },
      30_000,
      'class to finish',
    );
    const ofClass = () =>
      exporter
        .getFinishedSpans()
        .filter((s) => s.attributes[TelemetryAttributes.ClassId] === classId);
    const byStage = (spans: ReadableSpan[], stage: string) =>
      spans.filter((s) => s.attributes[TelemetryAttributes.Stage] === stage);
    // The aggregator's span ends once its batch is acked, just after the class finished.
    const spans = await waitFor(
      async () => {
        const s = ofClass();
        return byStage(s, 'aggregator').length > 0 ? s : undefined;
      },
      10_000,
      'aggregator span',
    );

    // Assess
    assert.equal(state.status, 'transferred');
    const [entry] = await host.redis.xrange(host.deps.keys.stream('classes'), '-', '+');
    const requested = decodeEntry('classes', fieldsToRecord(entry![1]));
    const classTrace = remoteSpanContext(requested.traceparent);
    assert.ok(classTrace, 'the class-completed entry carries a traceparent');

    const crawler = byStage(spans, 'crawler');
    const transfer = byStage(spans, 'transfer');
    const aggregator = byStage(spans, 'aggregator');
    assert.equal(crawler.length, 1);
    assert.ok(transfer.length >= 1, 'transfer spans');
    assert.ok(aggregator.length >= 1, 'aggregator spans');
    for (const span of spans) {
      assert.equal(
        span.spanContext().traceId,
        classTrace.traceId,
        `${span.name} is in the class's trace`,
      );
      assert.equal(span.attributes[TelemetryAttributes.Outcome], 'acked');
    }
    assert.equal(crawler[0]!.name, 'colony.crawler process');
    assert.equal(
      crawler[0]!.parentSpanContext?.spanId,
      classTrace.spanId,
      'crawler span is the child of the request',
    );
    for (const span of [...transfer, ...aggregator]) {
      assert.equal(
        span.parentSpanContext?.spanId,
        crawler[0]!.spanContext().spanId,
        `${span.name} is below the crawl`,
      );
    }
    assert.equal(
      transfer.reduce((n, s) => n + Number(s.attributes[TelemetryAttributes.Files]), 0),
      state.total,
      'transfer spans count every file',
    );
    assert.equal(
      crawler[0]!.attributes[TelemetryAttributes.ManifestUrl],
      plainUrl,
      'manifest URL without its query',
    );

    // Nothing any span says, in any attribute or status, holds a query string or the token.
    for (const span of exporter.getFinishedSpans()) {
      const said = JSON.stringify([span.name, span.attributes, span.status, span.events]);
      assert.ok(!said.includes('?'), `${span.name} says no query string: ${said}`);
      assert.ok(!said.includes('secret'), `${span.name} does not carry the token`);
    }
  });
});
