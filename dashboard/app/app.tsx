import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { ClassList, type Filter } from './class-list.js';
import { DeadLettersPanel } from './dead-letters-panel.js';
import { formatBytes, formatCount } from './format.js';
import { GLYPH } from './glyphs.js';
import { PipelinePanel } from './pipeline-panel.js';
import { useStore, type DashboardStore } from './store.js';
import { ThroughputChart } from './throughput-chart.js';

const CONNECTION_LABEL = {
  connecting: 'connecting…',
  live: 'live',
  paused: 'paused',
  reconnecting: 'reconnecting…',
} as const;

/** Totals over every class, for the header. */
function totals(store: DashboardStore) {
  const t = { classes: 0, running: 0, transferred: 0, failed: 0, files: 0, done: 0, bytes: 0 };
  for (const c of store.classes.values()) {
    t.classes++;
    if (!c.finished) t.running++;
    else if (c.status === 'transferred') t.transferred++;
    else t.failed++;
    t.files += c.total;
    t.done += c.done;
    t.bytes += c.bytes;
  }
  return t;
}

export function App({ store }: { store: DashboardStore }) {
  useStore(store);
  const [filter, setFilter] = useState<Filter>({ text: '', status: 'all' });
  const [firstViewMarked, setFirstViewMarked] = useState(false);
  const t = totals(store);
  const loaded = store.version > 0;

  useLayoutEffect(() => {
    if (!loaded || firstViewMarked) return;
    // The first view with data is in the page: the benchmark's figure.
    requestAnimationFrame(() => performance.mark('colony:first-view'));
    setFirstViewMarked(true);
  });

  useEffect(() => {
    document.title = `colony · ${t.running} running`;
  });

  return (
    <div class="layout">
      <header class="top">
        <h1>colony</h1>
        <span class={`connection ${store.connection}`} data-connection={store.connection}>
          {CONNECTION_LABEL[store.connection]}
        </span>
        <button
          type="button"
          class="pause"
          onClick={() => (store.paused ? store.resume() : store.pause())}
        >
          {store.paused ? 'Resume' : 'Pause'}
        </button>
        <span class="totals">
          {formatCount(t.classes)} classes · {formatCount(t.running)} running ·{' '}
          {formatCount(t.transferred)} transferred ·{' '}
          <span class={t.failed ? 'failed-count' : ''}>{formatCount(t.failed)} failed</span> ·{' '}
          {formatCount(t.done)}/{formatCount(t.files)} files · {formatBytes(t.bytes)}
        </span>
        <span class="legend">
          <span class="g-waiting">{GLYPH.waiting}</span> waiting{' '}
          <span class="g-done">{GLYPH.done}</span> done <span class="g-failed">{GLYPH.failed}</span>{' '}
          failed
        </span>
        {store.credential === 'cookie' ? (
          <button type="button" class="logout" onClick={() => void api.logout()}>
            Log out
          </button>
        ) : null}
      </header>
      {store.error ? (
        <p class="error" role="alert">
          {store.error}
        </p>
      ) : null}
      <main class="classes">
        <div class="filters">
          <input
            type="search"
            placeholder="filter by class id or title"
            value={filter.text}
            onInput={(e) => setFilter({ ...filter, text: (e.target as HTMLInputElement).value })}
          />
          <select
            value={filter.status}
            onChange={(e) =>
              setFilter({
                ...filter,
                status: (e.target as HTMLSelectElement).value as Filter['status'],
              })
            }
          >
            <option value="all">all classes</option>
            <option value="running">running</option>
            <option value="transferred">transferred</option>
            <option value="failed">failed</option>
          </select>
        </div>
        <ClassList store={store} filter={filter} />
      </main>
      <aside class="side">
        <section>
          <h2>Throughput</h2>
          <ThroughputChart points={store.throughput} />
        </section>
        <section>
          <h2>Pipeline</h2>
          <PipelinePanel pipeline={store.pipeline} />
        </section>
        <section>
          <h2>Dead letters</h2>
          <DeadLettersPanel list={store.deadLetters} reload={() => store.loadDeadLetters()} />
        </section>
      </aside>
    </div>
  );
}
