import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { LOG_FORMATS, type LOG_LEVELS } from '../schemas/config.js';
import { prettyLine } from './log-pretty.js';
import { scopedLogFields, type LogFields } from './log-scope.js';
import { redact } from './telemetry.js';

export type { LogFields };

/** Leveled, structured logging to stderr: one JSON object per line, or pretty on a terminal. */
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * What stages and commands log through. `msg` is a fixed sentence naming the event; what varies
 * (class, stream, counts, reasons) goes in `fields`, so that a log query can select on it.
 * Field names are snake_case: `class_id`, `stream`, `group`, `entry_id`, `reason`, `err`.
 */
export type Logger = {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose every line carries `bindings` (e.g. `{ stage: 'crawler' }`). */
  child(bindings: LogFields): Logger;
};

export type LoggerOptions = {
  /** `json` or `pretty`; by default COLONY_LOG_FORMAT, else pretty on a terminal, else json. */
  format?: LogFormat;
  /** Where lines go (tests); stderr by default. Receives one JSON line per call. */
  destination?: { write(line: string): unknown };
};

/** The format when none is named: COLONY_LOG_FORMAT if valid, else pretty on a terminal. */
export function defaultLogFormat(
  env: NodeJS.ProcessEnv = process.env,
  isTty = Boolean(process.stderr.isTTY),
): LogFormat {
  const named = env.COLONY_LOG_FORMAT?.trim();
  if ((LOG_FORMATS as readonly string[]).includes(named ?? '')) return named as LogFormat;
  return isTty ? 'pretty' : 'json';
}

/** trace_id/span_id of the scope (a delivery), else of the active span when tracing is on. */
function traceFields(): LogFields {
  const scoped = scopedLogFields();
  if (scoped.trace_id !== undefined) return scoped;
  const active = trace.getActiveSpan()?.spanContext();
  if (!active || !isSpanContextValid(active)) return scoped;
  return { ...scoped, trace_id: active.traceId, span_id: active.spanId };
}

/** String values (and strings in arrays) without query strings: no signed URL reaches a log. */
function redactFields(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') out[k] = redact(v);
    else if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'string' ? redact(x) : x));
    else out[k] = v;
  }
  return out;
}

/**
 * A pino logger behind the Logger type, writing to stderr at or above `level`. JSON lines carry
 * `time`, `level`, `name`, `msg`, `trace_id`/`span_id` when the line belongs to a traced
 * delivery, and the fields. Writes are synchronous: a line logged just before exit is not lost.
 */
export function createLogger(
  level: LogLevel = 'info',
  name = 'colony',
  options: LoggerOptions = {},
): Logger {
  const format = options.format ?? defaultLogFormat();
  let destination: DestinationStream;
  if (format === 'pretty') {
    const target = options.destination ?? process.stderr;
    const colour = !options.destination && Boolean(process.stderr.isTTY);
    destination = { write: (line: string) => void target.write(prettyLine(line, colour)) };
  } else {
    destination = options.destination
      ? { write: (line: string) => void options.destination!.write(line) }
      : pino.destination({ dest: 2, sync: true });
  }
  const logger = pino(
    {
      name,
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: redactFields },
      mixin: traceFields,
    },
    destination,
  );
  return wrap(logger);
}

function wrap(p: PinoLogger): Logger {
  return {
    debug: (msg, fields) => (fields ? p.debug(fields, msg) : p.debug(msg)),
    info: (msg, fields) => (fields ? p.info(fields, msg) : p.info(msg)),
    warn: (msg, fields) => (fields ? p.warn(fields, msg) : p.warn(msg)),
    error: (msg, fields) => (fields ? p.error(fields, msg) : p.error(msg)),
    child: (bindings) => wrap(p.child(bindings)),
  };
}

export const silentLogger: Logger = createLogger('silent', 'colony', { format: 'json' });
