import { useState } from 'preact/hooks';
import type { DeadLetterList } from '../../schemas/dashboard.js';
import { api } from './api.js';
import { formatTime } from './format.js';

/**
 * Dead letters, newest first, with their reason and history; retry and purge do what
 * `colony dlq retry|purge` does (the server runs the same code).
 */
export function DeadLettersPanel({
  list,
  reload,
}: {
  list: DeadLetterList | undefined;
  reload: () => Promise<void>;
}) {
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | undefined>(undefined);
  if (!list) return <p class="muted">Loading dead letters…</p>;

  const act = async (action: 'retry' | 'purge', ids: string[] | 'all') => {
    if (
      action === 'purge' &&
      !window.confirm(`Delete ${ids === 'all' ? 'every' : ids.length} dead letter(s) for good?`)
    )
      return;
    setBusy(true);
    try {
      const r = await api.deadLetterAction(action, ids);
      setMessage(`${action === 'retry' ? 'requeued' : 'purged'} ${r.done} of ${r.selected}`);
      setSelected(new Set());
      await reload();
    } catch (err) {
      setMessage(`${action} failed: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  return (
    <div class="dead-letters">
      <div class="toolbar">
        <span>
          {list.total} dead letter{list.total === 1 ? '' : 's'}
          {list.total > list.deadLetters.length ? ` (newest ${list.deadLetters.length} shown)` : ''}
        </span>
        <button
          type="button"
          disabled={busy || selected.size === 0}
          onClick={() => act('retry', [...selected])}
        >
          Retry selected
        </button>
        <button
          type="button"
          disabled={busy || selected.size === 0}
          onClick={() => act('purge', [...selected])}
        >
          Purge selected
        </button>
        <button
          type="button"
          disabled={busy || list.total === 0}
          onClick={() => act('retry', 'all')}
        >
          Retry all
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy || list.total === 0}
          onClick={() => act('purge', 'all')}
        >
          Purge all
        </button>
        {message ? (
          <span class="message" role="status">
            {message}
          </span>
        ) : null}
      </div>
      <ul class="letters">
        {list.deadLetters.map((d) => (
          <li key={`${d.key}/${d.id}`} class="letter" data-id={d.id}>
            <label>
              <input type="checkbox" checked={selected.has(d.id)} onChange={() => toggle(d.id)} />
              <span class="reason">{d.error ?? d.reason}</span>
            </label>
            <div class="history muted">
              {d.type ?? d.stream} from <b>{d.stream}</b> ({d.group}), entry {d.entryId}, delivered{' '}
              {d.deliveries}×, dead {formatTime(d.deadAt)}
              {d.classId ? <> · class {d.classId}</> : null}
              {d.files !== undefined ? <> · {d.files} files</> : null}
            </div>
            <button
              type="button"
              class="retry-one"
              disabled={busy}
              onClick={() => act('retry', [d.id])}
            >
              Retry
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
