/**
 * The per-file glyphs, drawn on a canvas: one cell per file, in ordinal order, left to right.
 * ◯ waiting, ◉ done, ✖ failed (red). Bitfields arrive as hex: bit i is the most significant bit
 * first of byte i/8, as Redis SETBIT stores it.
 */

/** Side of one glyph's cell, in CSS pixels. */
export const CELL = 10;

export const GLYPH = { waiting: '◯', done: '◉', failed: '✖' } as const;
export type GlyphState = keyof typeof GLYPH;

/** Colours the glyphs are drawn in; the browser test tells states apart by them. */
export const COLOURS = { ring: '#8a94a6', done: '#2fb36b', failed: '#e5484d' } as const;

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bitAt(bits: Uint8Array, i: number): boolean {
  const byte = bits[i >> 3];
  return byte !== undefined && (byte & (0x80 >> (i & 7))) !== 0;
}

export function stateAt(done: Uint8Array, failed: Uint8Array, i: number): GlyphState {
  if (bitAt(failed, i)) return 'failed';
  return bitAt(done, i) ? 'done' : 'waiting';
}

/** Glyphs per line for a width, and the height that many files take. */
export function glyphLayout(
  total: number,
  width: number,
): { perRow: number; rows: number; height: number } {
  const perRow = Math.max(8, Math.floor(width / CELL));
  const rows = Math.ceil(total / perRow);
  return { perRow, rows, height: rows * CELL };
}

type Sprites = { canvas: HTMLCanvasElement; size: number };
let sprites: Sprites | undefined;

/** The three glyphs drawn once at the screen's pixel ratio, side by side. */
function spriteSheet(dpr: number): Sprites {
  const size = Math.round(CELL * dpr);
  if (sprites?.size === size) return sprites;
  const canvas = document.createElement('canvas');
  canvas.width = size * 3;
  canvas.height = size;
  const ctx = canvas.getContext('2d')!;
  const r = size * 0.36;
  const c = size / 2;
  ctx.lineWidth = Math.max(1, dpr);
  // waiting: a ring
  ctx.strokeStyle = COLOURS.ring;
  ctx.beginPath();
  ctx.arc(c, c, r, 0, Math.PI * 2);
  ctx.stroke();
  // done: a ring around a filled dot
  ctx.strokeStyle = COLOURS.done;
  ctx.fillStyle = COLOURS.done;
  ctx.beginPath();
  ctx.arc(size + c, c, r, 0, Math.PI * 2);
  ctx.stroke();
  ctx.beginPath();
  ctx.arc(size + c, c, r * 0.6, 0, Math.PI * 2);
  ctx.fill();
  // failed: a heavy red cross
  ctx.strokeStyle = COLOURS.failed;
  ctx.lineWidth = Math.max(2, 2 * dpr);
  const d = r * 0.85;
  ctx.beginPath();
  ctx.moveTo(2 * size + c - d, c - d);
  ctx.lineTo(2 * size + c + d, c + d);
  ctx.moveTo(2 * size + c + d, c - d);
  ctx.lineTo(2 * size + c - d, c + d);
  ctx.stroke();
  sprites = { canvas, size };
  return sprites;
}

const INDEX: Record<GlyphState, number> = { waiting: 0, done: 1, failed: 2 };

/**
 * One repeating pattern per glyph for a canvas context: a run of equal glyphs on a line is one
 * fillRect, so a class of 8,000 files, mostly long runs of done or waiting, is a few hundred
 * rectangles rather than 8,000 image copies. Tiles line up with the cells (both start at 0, 0).
 */
const patterns = new WeakMap<CanvasRenderingContext2D, { size: number; fills: CanvasPattern[] }>();

function patternsFor(
  ctx: CanvasRenderingContext2D,
  dpr: number,
): { size: number; fills: CanvasPattern[] } {
  const { canvas: sheet, size } = spriteSheet(dpr);
  const known = patterns.get(ctx);
  if (known?.size === size) return known;
  const fills = [0, 1, 2].map((s) => {
    const tile = document.createElement('canvas');
    tile.width = size;
    tile.height = size;
    tile.getContext('2d')!.drawImage(sheet, s * size, 0, size, size, 0, 0, size, size);
    return ctx.createPattern(tile, 'repeat')!;
  });
  const made = { size, fills };
  patterns.set(ctx, made);
  return made;
}

/**
 * Draws the cells whose state differs from `previous` (all when there is none) and returns the
 * states now drawn: an update that lands a hundred files redraws those hundred cells, in runs.
 */
export function drawGlyphs(
  canvas: HTMLCanvasElement,
  total: number,
  perRow: number,
  done: Uint8Array,
  failed: Uint8Array,
  previous: Uint8Array | undefined,
): Uint8Array {
  const dpr = window.devicePixelRatio || 1;
  const ctx = canvas.getContext('2d')!;
  const { size, fills } = patternsFor(ctx, dpr);
  const drawn = new Uint8Array(total);
  for (let i = 0; i < total; i++) drawn[i] = INDEX[stateAt(done, failed, i)];
  const all = !previous || previous.length !== total;
  if (all) ctx.clearRect(0, 0, canvas.width, canvas.height);
  // Runs of cells on one line that changed to the same state.
  let i = 0;
  while (i < total) {
    if (!all && previous[i] === drawn[i]) {
      i++;
      continue;
    }
    const state = drawn[i]!;
    const lineEnd = Math.min(total, (Math.floor(i / perRow) + 1) * perRow);
    let j = i + 1;
    while (j < lineEnd && drawn[j] === state && (all || previous[j] !== drawn[j])) j++;
    const x = (i % perRow) * size;
    const y = Math.floor(i / perRow) * size;
    const width = (j - i) * size;
    if (!all) ctx.clearRect(x, y, width, size);
    ctx.fillStyle = fills[state]!;
    ctx.fillRect(x, y, width, size);
    i = j;
  }
  return drawn;
}
