import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaContext } from '../../lambda/handler.js';

/** A fault the endpoint answers with instead of running the handler. */
export type Injected =
  | 'throttle' // 429 TooManyRequestsException, as when reserved concurrency is exhausted
  | 'service-error' // 500 ServiceException
  | 'too-large' // 413 RequestTooLargeException
  | 'unhandled' // 200 with X-Amz-Function-Error: Unhandled (a crash, an out-of-memory, a timeout)
  | 'garbage'; // 200 with a payload that is not a result

export type LambdaEndpoint = {
  url: string;
  /** Requests received, faults included. */
  requests: number;
  /** Payloads the handler ran, in order. */
  invocations: unknown[];
  injected: Map<Injected, number>;
  close(): Promise<void>;
};

export type LambdaEndpointOptions = {
  functionName: string;
  handler(event: unknown, context: LambdaContext): Promise<unknown>;
  /** Decides, per request (1-based), whether to inject a fault. */
  inject?(request: number, payload: unknown): Injected | undefined;
  /** Requests larger than this get 413 RequestTooLargeException, as Lambda does past 6 MB. */
  maxPayloadBytes?: number;
};

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The Lambda Invoke API on loopback: `POST /2015-03-31/functions/{name}/invocations` runs the
 * real handler in this process and answers as Lambda does (the payload, or X-Amz-Function-Error
 * with errorType and errorMessage when the handler throws); faults are injected on request.
 */
export async function startLambdaEndpoint(o: LambdaEndpointOptions): Promise<LambdaEndpoint> {
  const state: LambdaEndpoint = {
    url: '',
    requests: 0,
    invocations: [],
    injected: new Map(),
    close: async () => {},
  };
  const server = createServer(async (req, res) => {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': `req-${state.requests}`,
        ...headers,
      });
      res.end(text);
    };
    const error = (status: number, type: string, message: string) =>
      json(status, { Type: 'User', message }, { 'x-amzn-errortype': type });

    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(
      (req.url ?? '').split('?')[0]!,
    );
    const body = await readBody(req);
    if (req.method !== 'POST' || !m)
      return error(404, 'UnknownOperationException', 'unknown operation');
    if (decodeURIComponent(m[1]!) !== o.functionName) {
      return error(404, 'ResourceNotFoundException', `Function not found: ${m[1]}`);
    }
    // InvocationType DryRun checks the function and the permission without running it.
    if (req.headers['x-amz-invocation-type'] === 'DryRun') {
      res.writeHead(204, { 'x-amzn-requestid': 'dry-run' });
      return res.end();
    }
    const n = ++state.requests;
    if (o.maxPayloadBytes !== undefined && body.length > o.maxPayloadBytes) {
      state.injected.set('too-large', (state.injected.get('too-large') ?? 0) + 1);
      return error(
        413,
        'RequestTooLargeException',
        'Request must be smaller than 6291456 bytes for the InvokeFunction operation',
      );
    }
    const payload: unknown = JSON.parse(body.toString('utf8') || 'null');
    const fault = o.inject?.(n, payload);
    if (fault) state.injected.set(fault, (state.injected.get(fault) ?? 0) + 1);
    switch (fault) {
      case 'throttle':
        return error(429, 'TooManyRequestsException', 'Rate Exceeded.');
      case 'service-error':
        return error(500, 'ServiceException', 'internal failure');
      case 'too-large':
        return error(413, 'RequestTooLargeException', 'Request must be smaller than 6291456 bytes');
      case 'unhandled':
        return json(
          200,
          {
            errorType: 'Runtime.ExitError',
            errorMessage: 'RequestId: x Error: Runtime exited with error: signal: killed',
          },
          { 'x-amz-function-error': 'Unhandled' },
        );
      case 'garbage':
        return json(200, { results: [{ nonsense: true }] });
    }
    state.invocations.push(payload);
    const deadline = Date.now() + 60_000;
    try {
      const result = await o.handler(payload, {
        getRemainingTimeInMillis: () => deadline - Date.now(),
      });
      json(200, result, { 'x-amz-executed-version': '$LATEST' });
    } catch (err) {
      const e = err as Error;
      json(
        200,
        { errorType: e.name, errorMessage: e.message },
        { 'x-amz-function-error': 'Unhandled' },
      );
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
