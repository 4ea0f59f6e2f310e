/**
 * A small printer for pino's JSON lines, for people at a terminal: time, level, stage and class,
 * the message, then the other fields as key=value. Not a pino transport (no worker thread, no
 * extra dependency): the JSON line is formatted where it is written.
 */
const LEVEL_COLOURS: Record<string, string> = {
  trace: '90',
  debug: '90',
  info: '32',
  warn: '33',
  error: '31',
  fatal: '35',
};

/** Fields shown in the line's head, or not at all, rather than as key=value. */
const HEAD = new Set(['level', 'time', 'msg', 'name', 'pid', 'stage', 'class_id']);

/** One pino JSON line as one human line (ANSI colours when `colour`). Unparsable input is kept. */
export function prettyLine(json: string, colour: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const paint = (code: string, s: string) => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  const label = String(o.level ?? '');
  const at =
    typeof o.time === 'string' || typeof o.time === 'number' ? new Date(o.time) : undefined;
  const time = at && !Number.isNaN(at.getTime()) ? at.toISOString().slice(11, 23) : '';
  const where = [o.stage, o.class_id].filter((v) => typeof v === 'string' && v).join(' ');
  const rest: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (HEAD.has(k) || k === 'span_id' || v === undefined) continue;
    // The trace's first 8 hex digits find it in a tracing UI; the whole id is in the JSON form.
    if (k === 'trace_id' && typeof v === 'string') {
      rest.push(paint('90', `trace=${v.slice(0, 8)}`));
      continue;
    }
    const text =
      typeof v === 'string' ? (/[\s"=]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v);
    rest.push(`${paint('90', `${k}=`)}${text}`);
  }
  return (
    [
      paint('90', time),
      paint(LEVEL_COLOURS[label] ?? '0', label.toUpperCase().padEnd(5)),
      where ? paint('36', `[${where}]`) : '',
      String(o.msg ?? ''),
      rest.join(' '),
    ]
      .filter(Boolean)
      .join(' ') + '\n'
  );
}
