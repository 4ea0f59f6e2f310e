import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DeadLetterAction,
  type ClassDetail,
  type ClassList,
  type DeadLetterActionResult,
  type DeadLetterList,
  type DeadLetterView,
} from '../../schemas/dashboard.js';
import { ClassStore } from '../../streams/class-store.js';
import {
  latestDeadLetters,
  purgeDeadLetters,
  retryDeadLetters,
  selectDeadLetters,
  type StoredDeadLetter,
} from '../../streams/dead-letters.js';
import type { Keys } from '../../streams/keys.js';
import type { Logger } from '../../streams/log.js';
import type { ColonyRedis } from '../../streams/redis.js';
import { redact } from '../../streams/telemetry.js';
import { SAMPLE_INTERVAL_MS } from '../../streams/throughput.js';
import { ClassRates } from './class-summary.js';
import { readBody, sendJson } from './http.js';
import type { DashboardState } from './state.js';

/** Failures listed with a class's detail; the bitfield covers every one. */
const MAX_FAILURES_SHOWN = 200;

export type ApiDeps = {
  redis: ColonyRedis;
  keys: Keys;
  state: DashboardState;
  logger: Logger;
};

/** A class's failed ordinals as a bitmap of `total` bits, laid out as the done bitmap is. */
export function failedBits(total: number, ordinals: Iterable<number>): Buffer {
  const bits = Buffer.alloc(Math.ceil(total / 8));
  for (const o of ordinals) if (o >= 0 && o < total) bits[o >> 3]! |= 0x80 >> (o & 7);
  return bits;
}

/** Hex of a bitmap cut to `total` bits, without its trailing zero bytes. */
export function bitsHex(bits: Buffer, total: number): string {
  let end = Math.min(bits.length, Math.ceil(total / 8));
  while (end > 0 && bits[end - 1] === 0) end--;
  return bits.subarray(0, end).toString('hex');
}

/** What the dashboard shows of a dead letter: its reason and history, and what it held. */
export function deadLetterView(d: StoredDeadLetter): DeadLetterView {
  const base = { id: d.id, key: d.key };
  const l = d.letter;
  if (!l) {
    return {
      ...base,
      stream: '',
      group: '',
      entryId: '',
      deliveries: 0,
      reason: '',
      deadAt: 0,
      error: d.error ?? 'unreadable',
    };
  }
  let classId: string | undefined;
  let files: number | undefined;
  try {
    const data = JSON.parse(l.fields.data ?? '{}') as {
      classId?: unknown;
      files?: unknown;
      results?: unknown;
    };
    if (typeof data.classId === 'string') classId = data.classId;
    const list = Array.isArray(data.files)
      ? data.files
      : Array.isArray(data.results)
        ? data.results
        : undefined;
    if (list) files = list.length;
  } catch {
    // The original entry was not JSON: that is often why it is here; its reason says so.
  }
  return {
    ...base,
    stream: l.stream,
    group: l.group,
    entryId: l.entryId,
    deliveries: l.deliveries,
    reason: redact(l.reason),
    deadAt: l.deadAt,
    ...(classId ? { classId } : {}),
    ...(files !== undefined ? { files } : {}),
    ...(l.fields.type ? { type: l.fields.type } : {}),
  };
}

/** The JSON API's handlers (paths under /api/ but the event stream). */
export function dashboardApi(deps: ApiDeps) {
  const store = new ClassStore(deps.redis, deps.keys);
  const rates = new ClassRates();

  async function classDetail(classId: string): Promise<ClassDetail | undefined> {
    const state = await store.get(classId);
    if (!state) return undefined;
    const [done, failures] = await Promise.all([
      store.doneBits(classId),
      store.failedFiles(classId),
    ]);
    // Counts as read now, with the bits; rates from the poller, which has the history.
    const fresh = rates.summarize(state, Date.now());
    const known = deps.state.get(classId);
    const summary = known
      ? { ...fresh, bytesPerSecond: known.bytesPerSecond, filesPerSecond: known.filesPerSecond }
      : fresh;
    return {
      class: summary,
      manifestUrl: redact(state.manifestUrl),
      dest: redact(state.dest),
      bits: {
        done: bitsHex(done, state.total),
        failed: bitsHex(
          failedBits(
            state.total,
            failures.map((f) => f.ordinal),
          ),
          state.total,
        ),
      },
      failures: failures
        .slice(0, MAX_FAILURES_SHOWN)
        .map((f) => ({ ...f, reason: redact(f.reason), path: redact(f.path) })),
    };
  }

  async function deadLetterAction(
    req: IncomingMessage,
    action: 'retry' | 'purge',
  ): Promise<{ status: number; body: DeadLetterActionResult | { error: string } }> {
    const raw = await readBody(req, 1024 * 1024);
    if (!raw) return { status: 413, body: { error: 'body over 1 MiB' } };
    let parsed;
    try {
      parsed = DeadLetterAction.safeParse(JSON.parse(raw.toString('utf8')));
    } catch {
      return { status: 400, body: { error: 'body is not JSON' } };
    }
    if (!parsed.success)
      return {
        status: 400,
        body: { error: 'expected { "ids": ["<id>", ...] } or { "all": true }' },
      };
    // The very functions `colony dlq retry|purge` runs.
    const letters = await selectDeadLetters(
      deps.redis,
      deps.keys,
      'ids' in parsed.data ? { ids: parsed.data.ids } : {},
    );
    const done =
      action === 'retry'
        ? await retryDeadLetters(deps.redis, deps.keys, letters)
        : await purgeDeadLetters(deps.redis, letters);
    deps.logger.info(
      action === 'retry'
        ? 'dead letters requeued from the dashboard'
        : 'dead letters purged from the dashboard',
      {
        selected: letters.length,
        done,
      },
    );
    const classIds = letters.map((l) => deadLetterView(l).classId).filter((c): c is string => !!c);
    deps.state.touch(classIds);
    void deps.state.refreshPipeline();
    return { status: 200, body: { selected: letters.length, done } };
  }

  /** Answers an /api/ request; false when the path is not one of these. */
  return async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
  ): Promise<boolean> {
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (path === '/api/classes' && get) {
      const body: ClassList = { classes: deps.state.list(), at: deps.state.at };
      sendJson(req, res, 200, body);
      return true;
    }
    if (path.startsWith('/api/classes/') && get) {
      let classId: string;
      try {
        classId = decodeURIComponent(path.slice('/api/classes/'.length));
      } catch {
        sendJson(req, res, 400, { error: 'class id is not valid percent-encoding' });
        return true;
      }
      const detail = await classDetail(classId);
      if (!detail) sendJson(req, res, 404, { error: `no class ${classId}` });
      else sendJson(req, res, 200, detail);
      return true;
    }
    if (path === '/api/pipeline' && get) {
      sendJson(req, res, 200, deps.state.pipeline ?? { at: 0, streams: [], deadLetters: 0 });
      return true;
    }
    if (path === '/api/throughput' && get) {
      sendJson(req, res, 200, { points: deps.state.throughput, intervalMs: SAMPLE_INTERVAL_MS });
      return true;
    }
    if (path === '/api/dead-letters' && get) {
      const limit = Math.min(
        1000,
        Math.max(1, Number(new URL(req.url ?? '/', 'http://x').searchParams.get('limit')) || 200),
      );
      const letters = await latestDeadLetters(deps.redis, deps.keys, limit);
      const total = (
        await Promise.all(deps.keys.allShards('dead').map((k) => deps.redis.xlen(k)))
      ).reduce((a, b) => a + b, 0);
      const body: DeadLetterList = { deadLetters: letters.map(deadLetterView), total };
      sendJson(req, res, 200, body);
      return true;
    }
    const action = /^\/api\/dead-letters\/(retry|purge)$/.exec(path)?.[1] as
      'retry' | 'purge' | undefined;
    if (action) {
      if (req.method !== 'POST') {
        sendJson(req, res, 405, { error: 'use POST' });
        return true;
      }
      const reply = await deadLetterAction(req, action);
      sendJson(req, res, reply.status, reply.body);
      return true;
    }
    return false;
  };
}
