/** Numbers as people read them on the dashboard. */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)} ${UNITS[u]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatRate(perSecond: number, unit: 'files' | 'bytes'): string {
  if (perSecond <= 0) return '–';
  return unit === 'bytes'
    ? `${formatBytes(perSecond)}/s`
    : `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)} files/s`;
}

/** "3 s", "4 min", "2 h 5 min", "3 d". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  return `${Math.floor(h / 24)} d`;
}

export function formatTime(at: number): string {
  return at ? new Date(at).toLocaleString('en-GB', { hour12: false }) : '–';
}
