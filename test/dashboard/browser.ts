/** Where browser tests leave screenshots (gitignored). */
export const ARTIFACTS = new URL('../../test-results/', import.meta.url);

export { launchBrowser, waitInPage } from '../../bench/browser.js';

/**
 * Installed in the page before its scripts: `window.colonyGlyphs(classId)` reads a class's glyph
 * canvas back, one character per file (◯ waiting, ◉ done, ✖ failed), from the pixel at the centre
 * of each cell: transparent for a ring, green for the dot of a done file, red for a cross.
 * Undefined while the row is not drawn or its bitfield not loaded.
 */
export const GLYPH_READER = `
window.colonyGlyphs = function (id) {
  var c = document.querySelector('canvas.glyphs[data-class-id="' + CSS.escape(id) + '"]');
  if (!c || c.dataset.loaded !== 'yes') return undefined;
  var total = Number(c.dataset.total), perRow = Number(c.dataset.perRow), cell = Number(c.dataset.cell);
  var scale = c.width / c.clientWidth;
  var data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  var out = '';
  for (var i = 0; i < total; i++) {
    var x = Math.floor(((i % perRow) + 0.5) * cell * scale);
    var y = Math.floor((Math.floor(i / perRow) + 0.5) * cell * scale);
    var k = (y * c.width + x) * 4;
    out += data[k + 3] < 64 ? '\\u25EF' : data[k] > data[k + 1] ? '\\u2716' : '\\u25C9';
  }
  return out;
};
`;

export function count(glyphs: string | undefined, glyph: string): number {
  return glyphs ? [...glyphs].filter((g) => g === glyph).length : 0;
}
