import { memo } from './memo.js';
import type { ClassDetail, ClassSummary } from '../../schemas/dashboard.js';
import { formatBytes, formatCount, formatDuration, formatRate } from './format.js';
import { GlyphCanvas } from './glyph-canvas.js';

export const SUMMARY_HEIGHT = 30;
export const GLYPH_PADDING = 8;

type Props = {
  summary: ClassSummary;
  expanded: boolean;
  perRow: number;
  top: number;
  now: number;
  detail: ClassDetail | undefined;
  onToggle: (classId: string) => void;
};

const STATUS_LABEL: Record<ClassSummary['status'], string> = {
  queued: 'queued',
  transferring: 'copying',
  transferred: 'transferred',
  failed: 'failed',
};

/** One class: its summary line, and its files as glyphs while it runs (or when opened). */
function Row({ summary: c, expanded, perRow, top, now, detail, onToggle }: Props) {
  const crawling = c.status === 'transferring' && !c.crawled;
  const label = c.status === 'queued' ? 'queued' : crawling ? 'crawling' : STATUS_LABEL[c.status];
  const age = c.finished
    ? formatDuration(c.finishedAt - c.requestedAt)
    : formatDuration(now - c.requestedAt);
  return (
    <div
      class={`class-row status-${c.status}${c.finished ? ' finished' : ''}`}
      style={{ transform: `translateY(${top}px)` }}
      data-class-id={c.classId}
      data-status={c.status}
      data-done={c.done}
      data-total={c.total}
    >
      <button
        type="button"
        class="summary"
        onClick={() => onToggle(c.classId)}
        aria-expanded={expanded}
        title={c.classId}
      >
        <span class="twisty">{expanded ? '▾' : '▸'}</span>
        <span class={`badge badge-${c.status}`}>{label}</span>
        <span class="title">{c.title || c.classId}</span>
        {c.title ? <span class="class-id">{c.classId}</span> : null}
        <span class="files">
          {formatCount(c.done)}/{formatCount(c.total)} files
          {c.failed ? <span class="failed-count"> · {formatCount(c.failed)} failed</span> : null}
        </span>
        <span class="bytes">{formatBytes(c.bytes)}</span>
        <span class="rate">{formatRate(c.bytesPerSecond, 'bytes')}</span>
        <span class="retries" title="copy attempts beyond the first">
          {c.retries ? `${formatCount(c.retries)} retries` : ''}
        </span>
        <span class="age" title={c.finished ? 'took' : 'since requested'}>
          {age}
        </span>
      </button>
      {expanded && c.total > 0 ? (
        <div class="glyph-box">
          <GlyphCanvas
            classId={c.classId}
            total={c.total}
            perRow={perRow}
            detail={detail}
            finished={c.finished}
            stale={
              !!detail &&
              (detail.class.done !== c.done ||
                detail.class.failed !== c.failed ||
                detail.class.run !== c.run)
            }
          />
        </div>
      ) : null}
    </div>
  );
}

export const ClassRow = memo(Row);
