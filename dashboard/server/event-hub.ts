import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DashboardEvent } from './state.js';

/** A browser this far behind (bytes buffered) is dropped; it reconnects and reloads. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;

/**
 * The server-sent events of `/api/events`: every subscriber gets each event the dashboard state
 * emits, framed once and written to all. A slow browser is dropped rather than buffered without
 * bound; the EventSource reconnects by itself (after `retry` ms) and reloads what it shows.
 */
export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;
  private nextId = 1;

  constructor(private readonly maxClients = 100) {
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Answers an EventSource request and keeps it open; false (and 503) when too many are. */
  attach(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.clients.size >= this.maxClients) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '10' });
      res.end(JSON.stringify({ error: 'too many event streams open' }));
      return false;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 3000\nevent: hello\ndata: {"at":${Date.now()}}\n\n`);
    req.socket.setNoDelay(true);
    // An open event stream must not count as idle for the server's timeouts.
    req.socket.setTimeout(0);
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    res.on('close', drop);
    res.on('error', drop);
    return true;
  }

  broadcast(e: DashboardEvent): void {
    if (this.clients.size === 0) return;
    this.write(`id: ${this.nextId++}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
  }

  private write(frame: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(frame);
    }
  }

  /** Ends every stream (the service stops). */
  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
