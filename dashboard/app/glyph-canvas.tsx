import { useLayoutEffect, useRef } from 'preact/hooks';
import type { ClassDetail } from '../../schemas/dashboard.js';
import { CELL, GLYPH, drawGlyphs, hexToBytes, stateAt } from './glyphs.js';

type Props = {
  classId: string;
  total: number;
  perRow: number;
  detail: ClassDetail | undefined;
  /** The bitfield drawn is behind the class's counts (the next one is on its way). */
  stale: boolean;
  /** The class finished: a stale bitfield is shown dimmed (a running class's lags a second,
   * which is not worth a flicker). */
  finished: boolean;
};

/**
 * One class's files as glyphs on a canvas. Redraws only the cells whose state changed, so an
 * update of a class of 8,000 files costs the cells that landed, not 8,000 draws.
 */
export function GlyphCanvas({ classId, total, perRow, detail, stale, finished }: Props) {
  const ref = useRef<HTMLCanvasElement>(null);
  const drawn = useRef<{ perRow: number; states: Uint8Array } | undefined>(undefined);
  const bits = useRef<{ done: Uint8Array; failed: Uint8Array }>({
    done: new Uint8Array(0),
    failed: new Uint8Array(0),
  });
  const rows = Math.ceil(total / perRow);
  const dpr = typeof window === 'undefined' ? 1 : window.devicePixelRatio || 1;

  useLayoutEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    const width = Math.round(perRow * CELL * dpr);
    const height = Math.round(rows * CELL * dpr);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
      drawn.current = undefined;
    }
    bits.current = {
      done: hexToBytes(detail?.bits.done ?? ''),
      failed: hexToBytes(detail?.bits.failed ?? ''),
    };
    const previous = drawn.current?.perRow === perRow ? drawn.current.states : undefined;
    const started = performance.now();
    const states = drawGlyphs(
      canvas,
      total,
      perRow,
      bits.current.done,
      bits.current.failed,
      previous,
    );
    // What drawing a class's glyphs costs (the benchmark reads these).
    performance.measure(previous ? 'colony:glyphs-update' : 'colony:glyphs-draw', {
      start: started,
    });
    drawn.current = { perRow, states };
  }, [detail, total, perRow, rows, dpr]);

  const onMove = (e: MouseEvent) => {
    const canvas = ref.current;
    if (!canvas) return;
    const box = canvas.getBoundingClientRect();
    const i =
      Math.floor((e.clientY - box.top) / CELL) * perRow + Math.floor((e.clientX - box.left) / CELL);
    if (i < 0 || i >= total) return;
    const state = stateAt(bits.current.done, bits.current.failed, i);
    const failure = state === 'failed' ? detail?.failures.find((f) => f.ordinal === i) : undefined;
    canvas.title = `file #${i}: ${GLYPH[state]} ${state}${failure ? `\n${failure.path}\n${failure.reason}` : ''}`;
  };

  return (
    <canvas
      ref={ref}
      class={`glyphs${stale && finished ? ' stale' : ''}`}
      data-class-id={classId}
      data-total={total}
      data-per-row={perRow}
      data-cell={CELL}
      data-loaded={!detail ? 'no' : stale ? 'stale' : 'yes'}
      style={{ width: `${perRow * CELL}px`, height: `${rows * CELL}px` }}
      onMouseMove={onMove}
      role="img"
      aria-label={`${total} files, one glyph each`}
    />
  );
}
