import { PassThrough, Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import {
  ColonyError,
  CrawlError,
  SourcePermanentError,
  SourceTransientError,
  UnsafeUriError,
} from '../../schemas/errors.js';
import { parseRetryAfter } from '../backoff.js';
import {
  parseContentRange,
  quoteEtag,
  type FileSource,
  type OpenedBody,
  type OpenOptions,
} from './file-source.js';

export type HttpSourceOptions = {
  /** Connections kept open per origin. Default 64, the default copy concurrency. */
  connections?: number;
  /** How long an idle keep-alive connection is kept. Default 10 s. */
  keepAliveTimeoutMs?: number;
  /** Default for connect, headers and body-idle timeouts. Default 30 s. */
  timeoutMs?: number;
  /** Redirects followed per request. Default 5. */
  maxRedirects?: number;
  /** Origins besides the requested URL's own that a redirect may lead to. */
  allowedOrigins?: readonly string[];
  userAgent?: string;
};

export type { OpenedBody, OpenOptions } from './file-source.js';

export type FetchTextOptions = OpenOptions & { maxBytes: number };
export type FetchedText = { text: string; finalUrl: string; contentType?: string };

/** Paths of media files, for which an HTML answer is an error page, never the file. */
const MEDIA_PATH = /\.(ts|m4s|mp4|m4a|m4v|aac|ac3|ec3|mp3|vtt|webvtt|key|cmfv|cmfa|fmp4)$/i;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches files and playlists from HTTP(S) origins over keep-alive connections.
 *
 * Every error says what failed with the URL's origin and path only: source URLs are often
 * signed, and the query string is a credential that must not reach logs or reports.
 */
export class HttpSource implements FileSource {
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly maxRedirects: number;
  private readonly allowedOrigins: ReadonlySet<string>;
  private readonly headers: Record<string, string>;

  constructor(options: HttpSourceOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRedirects = options.maxRedirects ?? 5;
    this.allowedOrigins = new Set((options.allowedOrigins ?? []).map((o) => new URL(o).origin));
    // identity: the copy must be the stored bytes, not a re-encoding the origin chose for us.
    this.headers = { 'accept-encoding': 'identity', 'user-agent': options.userAgent ?? 'colony' };
    this.agent = new Agent({
      connections: options.connections ?? 64,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
      connect: { timeout: this.timeoutMs },
    });
  }

  /**
   * GETs a file and returns its body as a stream, following up to `maxRedirects` redirects
   * that stay on the same origin (or an allowed one).
   *
   * @throws SourcePermanentError for 400, 403, 404, 410 and other answers a retry won't change.
   * @throws SourceTransientError for 408, 429, 5xx, network errors and timeouts.
   * @throws UnsafeUriError for a redirect to another origin.
   * @throws SourceTransientError when a range was asked for and the origin sent the whole file.
   */
  async open(url: string, options: OpenOptions = {}): Promise<OpenedBody> {
    const { response, finalUrl } = await this.get(url, options);
    const etag = headerValue(response.headers.etag);
    const tag = etag === undefined ? {} : { etag };
    if (response.statusCode === 304) {
      await response.body.dump().catch(() => undefined);
      return {
        body: Readable.from([]),
        size: 0,
        finalUrl: finalUrl.href,
        notModified: true,
        ...tag,
      };
    }
    const size = contentLength(response.headers);
    const type = headerValue(response.headers['content-type']) ?? '';
    if (/^text\/html\b/i.test(type) && MEDIA_PATH.test(finalUrl.pathname)) {
      // A CDN's error or login page served with 200 in place of a segment: copying it would
      // make a title that does not play, and a retry later may get the real bytes.
      discard(response.body);
      throw new SourceTransientError(
        `GET ${safeUrl(finalUrl)}: the origin answered an HTML page for a media file`,
      );
    }
    let totalSize: number | undefined;
    if (options.range) {
      const range = parseContentRange(headerValue(response.headers['content-range']));
      if (response.statusCode !== 206 || !range || range.start !== options.range.start) {
        discard(response.body);
        throw new SourceTransientError(
          `GET ${safeUrl(finalUrl)}: asked for bytes ${options.range.start}- and got ` +
            `HTTP ${response.statusCode} without a matching Content-Range`,
        );
      }
      totalSize = range.total;
    }
    const body = guardBody(response.body, finalUrl, options.signal);
    return {
      body,
      size,
      finalUrl: finalUrl.href,
      ...tag,
      ...(totalSize === undefined ? {} : { totalSize }),
    };
  }

  /**
   * GETs a playlist as text, reading at most `maxBytes`, and returns the URL that answered
   * (relative URIs in the playlist resolve against it). Redirects as for {@link open}.
   *
   * @throws CrawlError when the playlist is larger than `maxBytes`; otherwise as {@link open}.
   */
  async fetchText(url: string, options: FetchTextOptions): Promise<FetchedText> {
    const { response, finalUrl } = await this.get(url, options);
    const tooLarge = (): CrawlError =>
      new CrawlError(
        `playlist ${safeUrl(finalUrl)} is larger than the limit of ${options.maxBytes} bytes (maxBytes)`,
      );
    const declared = contentLength(response.headers);
    if (declared !== undefined && declared > options.maxBytes) {
      discard(response.body);
      throw tooLarge();
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > options.maxBytes) throw tooLarge();
        chunks.push(chunk);
      }
    } catch (err) {
      discard(response.body);
      throw err instanceof ColonyError ? err : networkError(err, finalUrl, options.signal);
    }
    const text = new TextDecoder('utf-8').decode(Buffer.concat(chunks, bytes));
    const contentType = headerValue(response.headers['content-type']);
    return contentType === undefined
      ? { text, finalUrl: finalUrl.href }
      : { text, finalUrl: finalUrl.href, contentType };
  }

  /** Closes the keep-alive connections; requests in flight finish first. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  /** GET with redirects followed by hand, so that each hop's origin can be checked. */
  private async get(
    url: string,
    options: OpenOptions,
  ): Promise<{ response: Dispatcher.ResponseData; finalUrl: URL }> {
    let current = parseHttpUrl(url);
    const origin = current.origin;
    for (let hop = 0; ; hop++) {
      const response = await this.send(current, options);
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { response, finalUrl: current };
      if (status === 304 && options.ifNoneMatch !== undefined)
        return { response, finalUrl: current };
      // The body of an error or redirect is never needed; dump() keeps the connection reusable.
      await response.body.dump().catch(() => undefined);
      const location = REDIRECT_STATUSES.has(status)
        ? headerValue(response.headers.location)
        : undefined;
      if (location === undefined)
        throw statusError(status, current, headerValue(response.headers['retry-after']));
      if (hop >= this.maxRedirects) {
        throw new SourcePermanentError(
          `GET ${safeUrl(current)}: more than ${this.maxRedirects} redirects`,
        );
      }
      const next = parseHttpUrl(location, current);
      if (next.origin !== origin && !this.allowedOrigins.has(next.origin)) {
        throw new UnsafeUriError(
          `GET ${safeUrl(current)}: redirect to another origin (${next.origin}) not followed`,
        );
      }
      current = next;
    }
  }

  private async send(url: URL, options: OpenOptions): Promise<Dispatcher.ResponseData> {
    const timeout = options.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = { ...this.headers };
    if (options.range) headers.range = `bytes=${options.range.start}-${options.range.end ?? ''}`;
    if (options.ifNoneMatch !== undefined)
      headers['if-none-match'] = quoteEtag(options.ifNoneMatch);
    try {
      return await request(url, {
        dispatcher: this.agent,
        method: 'GET',
        headers,
        signal: options.signal,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      throw networkError(err, url, options.signal);
    }
  }
}

/**
 * Passes the body through, turning a transfer that breaks off (reset, truncation, body
 * timeout) into a SourceTransientError whose message carries no query string.
 */
function guardBody(body: Readable, url: URL, signal: AbortSignal | undefined): Readable {
  const out = new PassThrough();
  body.on('error', (err) => out.destroy(networkError(err, url, signal) as Error));
  // A consumer that gives up early must release the connection.
  out.on('close', () => {
    if (!body.destroyed) discard(body);
  });
  body.pipe(out);
  return out;
}

/**
 * Drops a body we no longer want. undici's body.destroy() without an error still emits an
 * 'error' (RequestAbortedError), which would be uncaught without a listener.
 */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

/**
 * 408, 429 and 5xx may pass (after the Retry-After the origin asked for, if any); 400, 403, 404,
 * 410 and the rest will answer the same again.
 */
function statusError(status: number, url: URL, retryAfter?: string): ColonyError {
  const message = `GET ${safeUrl(url)}: HTTP ${status}`;
  if (status === 408 || status === 429 || status >= 500)
    return new SourceTransientError(message, undefined, parseRetryAfter(retryAfter));
  return new SourcePermanentError(status >= 400 ? message : `${message} (unexpected status)`);
}

/** Network failures are transient; an abort the caller asked for passes unchanged. */
function networkError(err: unknown, url: URL, signal: AbortSignal | undefined): unknown {
  if (err instanceof ColonyError || signal?.aborted) return err;
  const e = err as { code?: unknown; name?: unknown } | null;
  const code =
    typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'error';
  if (code === 'UND_ERR_INVALID_ARG')
    return new SourcePermanentError(`GET ${safeUrl(url)}: invalid request (${code})`);
  return new SourceTransientError(`GET ${safeUrl(url)}: network error (${code})`, err);
}

function parseHttpUrl(value: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    throw new SourcePermanentError(
      `not a valid URL${base ? ` in redirect from ${safeUrl(base)}` : ''}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SourcePermanentError(`unsupported scheme ${url.protocol} (expected http: or https:)`);
  }
  return url;
}

/** Origin and path: never the query (signed URLs) or credentials. */
function safeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function contentLength(headers: Record<string, string | string[] | undefined>): number | undefined {
  const value = headerValue(headers['content-length']);
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}
