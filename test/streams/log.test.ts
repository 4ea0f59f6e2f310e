import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { prettyLine } from '../../streams/log-pretty.js';
import { createLogger, defaultLogFormat, type LogFormat } from '../../streams/log.js';
import { bindDeliverySpan, runInDeliverySpan, startChildSpan } from '../../streams/telemetry.js';

function capture(format: LogFormat = 'json') {
  const lines: string[] = [];
  const logger = createLogger('debug', 'colony', {
    format,
    destination: { write: (line: string) => lines.push(line) },
  });
  const json = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, json };
}

test('JSON logs are one object per line with the fields, the level and no query strings', () => {
  // Prepare
  const { logger, lines, json } = capture();

  // Act
  logger.child({ stage: 'crawler' }).info('class crawled', {
    class_id: 'c1',
    files: 3,
    uri: 'https://cdn.example/a.m3u8?token=secret',
  });
  logger.debug('quiet detail');

  // Assess
  assert.equal(lines.length, 2);
  for (const l of lines) assert.ok(l.endsWith('\n') && !l.slice(0, -1).includes('\n'), l);
  const [first, second] = json();
  assert.equal(first!.msg, 'class crawled');
  assert.equal(first!.level, 'info');
  assert.equal(first!.stage, 'crawler');
  assert.equal(first!.class_id, 'c1');
  assert.equal(first!.files, 3);
  assert.equal(first!.uri, 'https://cdn.example/a.m3u8');
  assert.ok(!Number.isNaN(Date.parse(String(first!.time))), 'ISO time');
  assert.equal(second!.level, 'debug');
});

test('a line logged inside a delivery carries its trace_id, span_id and class id, also after awaits', async () => {
  // Prepare: no tracing SDK in this process; the delivery's span is the entry's remote context.
  const { logger, json } = capture();
  const traceId = 'ab'.repeat(16);
  const spanId = 'cd'.repeat(8);
  const delivery = { id: '1-0', event: { classId: 'class-7' } };
  bindDeliverySpan(
    delivery,
    startChildSpan('process jobs', `00-${traceId}-${spanId}-01`, SpanKind.CONSUMER, {}),
  );

  // Act
  await runInDeliverySpan(delivery, async () => {
    await new Promise((r) => setTimeout(r, 5));
    logger.warn('batch handed back', { reason: 'boom' });
  });
  logger.info('outside');

  // Assess
  const [inside, outside] = json();
  assert.equal(inside!.trace_id, traceId);
  assert.equal(inside!.span_id, spanId);
  assert.equal(inside!.class_id, 'class-7');
  assert.equal(inside!.reason, 'boom');
  assert.equal(outside!.trace_id, undefined);
});

test('the pretty format is one readable line: time, level, stage and class, message, fields', () => {
  // Prepare
  const { logger, lines } = capture('pretty');

  // Act
  logger.child({ stage: 'aggregator' }).warn('class finished', {
    class_id: 'c9',
    copied: 4,
    reason: 'two words',
    trace_id: 'ef'.repeat(16),
  });

  // Assess
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!,
    /^\d\d:\d\d:\d\d\.\d{3} WARN  \[aggregator c9\] class finished copied=4 reason="two words" trace=efefefef\n$/,
  );
  assert.equal(prettyLine('not json', false), 'not json\n');
});

test('COLONY_LOG_FORMAT picks the format; unset it is pretty on a terminal and JSON otherwise', () => {
  assert.equal(defaultLogFormat({ COLONY_LOG_FORMAT: 'json' }, true), 'json');
  assert.equal(defaultLogFormat({ COLONY_LOG_FORMAT: 'pretty' }, false), 'pretty');
  assert.equal(defaultLogFormat({}, true), 'pretty');
  assert.equal(defaultLogFormat({}, false), 'json');
});
