/** One attribute of an HLS attribute list; `quoted` tells a quoted-string from the other types. */
export type AttributeValue = { value: string; quoted: boolean };

export type AttributeList = {
  attrs: Map<string, AttributeValue>;
  /** Names given more than once: players disagree on which one wins. */
  duplicates: string[];
};

/**
 * Parses an attribute list (RFC 8216 section 4.2): `NAME=VALUE` pairs separated by commas, where
 * a quoted-string may itself contain commas and `=`. Lenient about spaces around names and about
 * values it does not understand, because a tag we only pass through must not fail the crawl.
 */
export function parseAttributeList(text: string): AttributeList {
  const attrs = new Map<string, AttributeValue>();
  const duplicates: string[] = [];
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq === -1) break;
    const name = text.slice(i, eq).trim().toUpperCase();
    let value: string;
    let quoted = false;
    let j = eq + 1;
    while (text[j] === ' ' || text[j] === '\t') j++;
    if (text[j] === '"') {
      const close = text.indexOf('"', j + 1);
      // An unterminated quote takes the rest of the line, as most parsers do.
      value = close === -1 ? text.slice(j + 1) : text.slice(j + 1, close);
      quoted = true;
      const comma = close === -1 ? -1 : text.indexOf(',', close);
      i = comma === -1 ? text.length : comma + 1;
    } else {
      const comma = text.indexOf(',', j);
      value = (comma === -1 ? text.slice(j) : text.slice(j, comma)).trim();
      i = comma === -1 ? text.length : comma + 1;
    }
    if (name === '') continue;
    if (attrs.has(name)) duplicates.push(name);
    else attrs.set(name, { value, quoted });
  }
  return { attrs, duplicates };
}
