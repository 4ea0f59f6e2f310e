import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Span,
} from '@opentelemetry/api';
import { describeError } from '../../schemas/errors.js';
import { ClassCompletedBody, WEBHOOK_MAX_BODY_BYTES } from '../../schemas/webhook.js';
import { withLogFields } from '../../streams/log-scope.js';
import type { Logger } from '../../streams/log.js';
import {
  TelemetryAttributes,
  formatTraceparent,
  startChildSpan,
  traceLogFields,
} from '../../streams/telemetry.js';
import { requestClass } from './ingest.js';
import type { StageDeps } from '../stage-deps.js';
import { verifyWebhook } from './webhook-signature.js';

export const WEBHOOK_PATH = '/hooks/class-completed';

type Reply = { status: number; body: Record<string, unknown> };

/**
 * The `class-completed` webhook (SPEC section 5): signature over timestamp and raw body checked
 * in constant time (when a secret is configured), body validated, test and aborted classes
 * skipped, and the class requested idempotently: the same classId and version again answers with
 * the first event's id and enqueues nothing.
 */
export function webhookHandler(
  deps: Pick<StageDeps, 'classes' | 'publisher' | 'config' | 'logger'>,
) {
  const { config, logger } = deps;

  async function respond(req: IncomingMessage, span: Span): Promise<Reply> {
    if (req.method !== 'POST') return { status: 405, body: { error: 'use POST' } };
    const raw = await readBody(req, WEBHOOK_MAX_BODY_BYTES);
    if (raw === 'too-large')
      return { status: 413, body: { error: `body over ${WEBHOOK_MAX_BODY_BYTES} bytes` } };
    if (config.webhookSecret) {
      const check = verifyWebhook(config.webhookSecret, raw, header(req, 'x-colony-signature'));
      if (!check.ok) return { status: 401, body: { error: check.reason } };
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      return { status: 400, body: { error: 'body is not JSON', reasons: ['body is not JSON'] } };
    }
    const parsed = ClassCompletedBody.safeParse(json);
    if (!parsed.success) {
      const reasons = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
      return { status: 400, body: { error: 'invalid class-completed body', reasons } };
    }
    const event = parsed.data;
    span.setAttribute(TelemetryAttributes.ClassId, event.classId);
    if (event.test || event.aborted) {
      const skipped = event.test ? 'test class' : 'aborted class';
      logger.info('webhook class skipped', { class_id: event.classId, reason: skipped });
      return { status: 200, body: { skipped } };
    }
    if (!config.dest)
      return { status: 503, body: { error: 'COLONY_DEST is not set: nowhere to copy classes to' } };
    const receipt = await requestClass(
      deps.classes,
      deps.publisher,
      {
        classId: event.classId,
        manifestUrl: event.manifestUrl,
        dest: config.dest,
        title: event.title,
        version: event.version,
        recordedAt: event.recordedAt,
      },
      { traceparent: formatTraceparent(span.spanContext()) },
    );
    if (receipt.state === 'conflict') {
      return {
        status: 409,
        body: {
          error: `class ${event.classId} is being transferred for another version; send this one when it finishes`,
          eventId: receipt.eventId,
        },
      };
    }
    return {
      status: 202,
      body: {
        eventId: receipt.eventId,
        ...(receipt.state === 'queued' ? {} : { duplicate: true }),
      },
    };
  }

  // The class's trace begins here: a SERVER span, child of the studio's traceparent when its
  // request carries one, parent of the class-completed entry.
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const span = startChildSpan(
      `${req.method === 'POST' ? 'POST' : 'HTTP'} ${WEBHOOK_PATH}`,
      header(req, 'traceparent'),
      SpanKind.SERVER,
      {
        'http.request.method': req.method ?? '',
        'http.route': WEBHOOK_PATH,
        'url.path': WEBHOOK_PATH,
      },
    );
    const spanContext = span.spanContext();
    let reply: Reply;
    try {
      reply = await withLogFields(traceLogFields(spanContext), () =>
        context.with(trace.setSpan(ROOT_CONTEXT, span), () => respond(req, span)),
      );
    } catch (err) {
      logger.error('webhook could not enqueue the class', {
        ...traceLogFields(spanContext),
        err: describeError(err),
      });
      reply = { status: 503, body: { error: 'could not enqueue the class; retry later' } };
    }
    span.setAttribute('http.response.status_code', reply.status);
    if (reply.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    const body = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
    // A body refused part way is left unread: close the connection rather than drain it.
    if (reply.status === 413) req.destroy();
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Reads at most `limit` bytes; stops early (without buffering the rest) on a larger body. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export type { Logger };
