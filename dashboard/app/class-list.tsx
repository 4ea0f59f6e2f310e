import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ClassDetail, ClassSummary } from '../../schemas/dashboard.js';
import { api } from './api.js';
import { ClassRow, GLYPH_PADDING, SUMMARY_HEIGHT } from './class-row.js';
import { glyphLayout } from './glyphs.js';
import type { DashboardStore } from './store.js';

/** Rows drawn beyond the viewport above and below, in pixels. */
const OVERSCAN = 600;
/** A visible class's bitfield is fetched again at most this often while it changes. */
const REFETCH_MS = 1000;
// A browser opens 6 connections per host: one is the event stream, one is kept free.
const MAX_FETCHES = 4;

export type Filter = { text: string; status: 'all' | 'running' | 'transferred' | 'failed' };

type Cached = { detail: ClassDetail; at: number; done: number; failed: number; run: number };

/** Running classes first (oldest first), then finished ones (latest first). */
function order(classes: Iterable<ClassSummary>, f: Filter): ClassSummary[] {
  const text = f.text.trim().toLowerCase();
  const out: ClassSummary[] = [];
  for (const c of classes) {
    if (text && !c.classId.toLowerCase().includes(text) && !c.title.toLowerCase().includes(text))
      continue;
    if (f.status === 'running' && c.finished) continue;
    if (
      (f.status === 'transferred' || f.status === 'failed') &&
      (c.status !== f.status || !c.finished)
    )
      continue;
    out.push(c);
  }
  return out.sort((a, b) =>
    a.finished !== b.finished
      ? a.finished
        ? 1
        : -1
      : a.finished
        ? b.finishedAt - a.finishedAt || a.classId.localeCompare(b.classId)
        : a.requestedAt - b.requestedAt || a.classId.localeCompare(b.classId),
  );
}

/** Every file done, none failed: its bitfield is all ones, no need to fetch it. */
const allDone = (c: ClassSummary) => c.total > 0 && c.done === c.total && c.failed === 0;

const complete = new Map<string, ClassDetail>();

/** The detail of a class whose files all landed, made here (one per class and count). */
function completeDetail(c: ClassSummary): ClassDetail {
  const key = `${c.classId}/${c.total}`;
  let d = complete.get(key);
  if (!d) {
    const full = 'ff'.repeat(c.total >> 3);
    const rest = c.total & 7 ? (0xff << (8 - (c.total & 7))) & 0xff : -1;
    const done = rest < 0 ? full : full + rest.toString(16).padStart(2, '0');
    d = { class: c, manifestUrl: '', dest: '', bits: { done, failed: '' }, failures: [] };
    if (complete.size > 2000) complete.clear();
    complete.set(key, d);
  }
  return d;
}

function upperBound(offsets: Float64Array, y: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= y) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Every class, virtualised: only the rows in view (and a margin) are in the page, so 2,000
 * classes cost what 30 do. Rows are the summary line plus, while a class runs (or when opened),
 * its glyphs; bitfields are fetched for the rows in view only, again when their counts move.
 */
export function ClassList({ store, filter }: { store: DashboardStore; filter: Filter }) {
  const scroller = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState({ top: 0, height: 800, width: 900 });
  const [toggled, setToggled] = useState<Map<string, boolean>>(new Map());
  const details = useRef(new Map<string, Cached>());
  const inFlight = useRef(new Set<string>());
  const [detailsVersion, setDetailsVersion] = useState(0);
  const retryTimer = useRef<number | undefined>(undefined);
  const now = Date.now();

  const rows = useMemo(() => order(store.classes.values(), filter), [store.layoutVersion, filter]);
  // Counts changed without a layout change: same order, fresh summaries.
  const current = rows.map((r) => store.classes.get(r.classId) ?? r);

  const glyphWidth = Math.max(80, viewport.width - 24);
  const { offsets, total } = useMemo(() => {
    const offsets = new Float64Array(rows.length + 1);
    let y = 0;
    rows.forEach((c, i) => {
      offsets[i] = y;
      const expanded = toggled.get(c.classId) ?? !c.finished;
      y += SUMMARY_HEIGHT;
      if (expanded && c.total > 0) y += glyphLayout(c.total, glyphWidth).height + GLYPH_PADDING;
    });
    offsets[rows.length] = y;
    return { offsets, total: y };
  }, [rows, toggled, glyphWidth]);

  const first = rows.length ? upperBound(offsets, Math.max(0, viewport.top - OVERSCAN)) : 0;
  const last = rows.length ? upperBound(offsets, viewport.top + viewport.height + OVERSCAN) : -1;
  const visible = current.slice(first, Math.min(last + 1, rows.length));

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    let frame = 0;
    const measure = () => {
      frame = 0;
      setViewport({ top: el.scrollTop, height: el.clientHeight, width: el.clientWidth });
    };
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(measure);
    };
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    el.addEventListener('scroll', onScroll, { passive: true });
    measure();
    return () => {
      ro.disconnect();
      el.removeEventListener('scroll', onScroll);
      cancelAnimationFrame(frame);
    };
  }, []);

  // Fetch the bitfields of the expanded rows in view that are missing or behind their counts.
  useEffect(() => {
    const t = Date.now();
    let wait = Infinity;
    for (const c of visible) {
      const expanded = toggled.get(c.classId) ?? !c.finished;
      if (!expanded || c.total === 0 || allDone(c) || inFlight.current.has(c.classId)) continue;
      const cached = details.current.get(c.classId);
      if (cached && cached.done === c.done && cached.failed === c.failed && cached.run === c.run)
        continue;
      if (cached && t - cached.at < REFETCH_MS) {
        wait = Math.min(wait, REFETCH_MS - (t - cached.at));
        continue;
      }
      if (inFlight.current.size >= MAX_FETCHES) {
        wait = Math.min(wait, 100);
        continue;
      }
      inFlight.current.add(c.classId);
      api
        .classDetail(c.classId)
        .then((detail) => {
          const s = detail.class;
          details.current.set(c.classId, {
            detail,
            at: Date.now(),
            done: s.done,
            failed: s.failed,
            run: s.run,
          });
          if (details.current.size > 400)
            details.current.delete(details.current.keys().next().value!);
        })
        .catch(() => {})
        .finally(() => {
          inFlight.current.delete(c.classId);
          setDetailsVersion((v) => v + 1);
        });
    }
    window.clearTimeout(retryTimer.current);
    if (wait !== Infinity)
      retryTimer.current = window.setTimeout(() => setDetailsVersion((v) => v + 1), wait);
  });

  // What an update costs: from the event's arrival to this render's layout effects, glyphs drawn.
  useLayoutEffect(() => {
    if (store.updateStartedAt === undefined) return;
    performance.measure('colony:update', { start: store.updateStartedAt, end: performance.now() });
    store.updateStartedAt = undefined;
  });

  const onToggle = useCallback(
    (classId: string) =>
      setToggled((m) => {
        const c = store.classes.get(classId);
        const next = new Map(m);
        next.set(classId, !(m.get(classId) ?? !c?.finished));
        return next;
      }),
    [store],
  );

  const perRow = glyphLayout(1, glyphWidth).perRow;
  return (
    <div class="class-scroller" ref={scroller} data-details={detailsVersion}>
      <div class="class-spacer" style={{ height: `${total}px` }}>
        {visible.map((c, i) => (
          <ClassRow
            key={c.classId}
            summary={c}
            expanded={toggled.get(c.classId) ?? !c.finished}
            perRow={perRow}
            top={offsets[first + i]!}
            now={c.finished ? 0 : now}
            detail={allDone(c) ? completeDetail(c) : details.current.get(c.classId)?.detail}
            onToggle={onToggle}
          />
        ))}
        {rows.length === 0 ? (
          <p class="empty">
            No classes{filter.text || filter.status !== 'all' ? ' match' : ' yet'}.
          </p>
        ) : null}
      </div>
    </div>
  );
}
