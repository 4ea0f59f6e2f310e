import { useLayoutEffect, useRef } from 'preact/hooks';
import type { ThroughputPoint } from '../../schemas/dashboard.js';
import { formatBytes, formatRate } from './format.js';

const HOUR_MS = 3_600_000;
const HEIGHT = 120;

/** Files/s (line) and bytes/s (area) over the last hour, each scaled to its own peak. */
export function ThroughputChart({ points }: { points: ThroughputPoint[] }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const now = Date.now();
  const shown = points.filter((p) => p.at >= now - HOUR_MS);
  const peakBytes = Math.max(1, ...shown.map((p) => p.bytesPerSecond));
  const peakFiles = Math.max(1, ...shown.map((p) => p.filesPerSecond));
  const last = shown[shown.length - 1];

  useLayoutEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 300;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(HEIGHT * dpr);
    const ctx = canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, HEIGHT);
    const x = (at: number) => ((at - (now - HOUR_MS)) / HOUR_MS) * width;
    const y = (v: number, peak: number) => HEIGHT - 4 - (v / peak) * (HEIGHT - 12);
    ctx.strokeStyle = '#2a3140';
    ctx.lineWidth = 1;
    for (let m = 0; m <= 60; m += 15) {
      ctx.beginPath();
      ctx.moveTo(x(now - HOUR_MS + m * 60_000), 0);
      ctx.lineTo(x(now - HOUR_MS + m * 60_000), HEIGHT);
      ctx.stroke();
    }
    if (shown.length === 0) return;
    ctx.fillStyle = 'rgba(76, 141, 255, 0.35)';
    ctx.beginPath();
    ctx.moveTo(x(shown[0]!.at), HEIGHT);
    for (const p of shown) ctx.lineTo(x(p.at), y(p.bytesPerSecond, peakBytes));
    ctx.lineTo(x(shown[shown.length - 1]!.at), HEIGHT);
    ctx.closePath();
    ctx.fill();
    ctx.strokeStyle = '#2fb36b';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    shown.forEach((p, i) =>
      (i ? ctx.lineTo : ctx.moveTo).call(ctx, x(p.at), y(p.filesPerSecond, peakFiles)),
    );
    ctx.stroke();
  });

  return (
    <div class="throughput">
      <canvas
        ref={ref}
        class="throughput-chart"
        style={{ height: `${HEIGHT}px` }}
        aria-label="throughput over the last hour"
      />
      <div class="legend">
        {shown.length === 0 ? (
          <span class="muted">No samples yet: the service records one every 10 s.</span>
        ) : (
          <>
            <span class="files-legend">━ {formatRate(last?.filesPerSecond ?? 0, 'files')}</span>
            <span class="muted"> (peak {formatRate(peakFiles, 'files')})</span>
            <span class="bytes-legend"> ▇ {formatRate(last?.bytesPerSecond ?? 0, 'bytes')}</span>
            <span class="muted"> (peak {formatBytes(peakBytes)}/s) · last hour, 15 min grid</span>
          </>
        )}
      </div>
    </div>
  );
}
