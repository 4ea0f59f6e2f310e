import type {
  ClassDetail,
  ClassList,
  DeadLetterActionResult,
  DeadLetterList,
  PipelineStatus,
  Throughput,
} from '../../schemas/dashboard.js';

/** The service's JSON API, same origin: the login cookie (if any) goes along by itself. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, {
    headers: { accept: 'application/json' },
    ...(signal ? { signal } : {}),
  });
  if (res.status === 401) {
    location.assign('/login');
    throw new ApiError(401, 'not logged in');
  }
  if (!res.ok) throw new ApiError(res.status, `${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export const api = {
  classes: () => getJson<ClassList>('/api/classes'),
  classDetail: (classId: string, signal?: AbortSignal) =>
    getJson<ClassDetail>(`/api/classes/${encodeURIComponent(classId)}`, signal),
  pipeline: () => getJson<PipelineStatus>('/api/pipeline'),
  throughput: () => getJson<Throughput>('/api/throughput'),
  deadLetters: () => getJson<DeadLetterList>('/api/dead-letters?limit=200'),
  session: () => getJson<{ credential: 'bearer' | 'cookie' | 'open' }>('/api/session'),

  /** Retry or purge dead letters, as `colony dlq retry|purge` does. */
  async deadLetterAction(
    action: 'retry' | 'purge',
    ids: string[] | 'all',
  ): Promise<DeadLetterActionResult> {
    const res = await fetch(`/api/dead-letters/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(ids === 'all' ? { all: true } : { ids }),
    });
    const body = (await res.json()) as DeadLetterActionResult | { error: string };
    if (!res.ok || 'error' in body)
      throw new ApiError(res.status, 'error' in body ? body.error : `HTTP ${res.status}`);
    return body;
  },

  logout: () => fetch('/logout', { method: 'POST' }).then(() => location.assign('/login')),
};
