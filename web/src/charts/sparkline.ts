import type { Float64Ring } from '../stores/ring-buffer.js';

/**
 * Draws a row's sparkline straight onto a small canvas. Fifty Chart.js
 * instances (one per row) would cost far more per frame than this loop, and a
 * sparkline needs no axes, tooltips or scales.
 */
export class Sparkline {
  private readonly ctx: CanvasRenderingContext2D | null;
  private readonly scratch: Float64Array;
  private cssWidth = 0;
  private cssHeight = 0;

  constructor(
    readonly canvas: HTMLCanvasElement,
    capacity: number,
  ) {
    this.ctx = canvas.getContext('2d');
    this.scratch = new Float64Array(capacity);
  }

  /** Matches the backing store to the element's size and the screen's pixel ratio. */
  resize(cssWidth: number, cssHeight: number, dpr: number): void {
    this.cssWidth = cssWidth;
    this.cssHeight = cssHeight;
    const w = Math.max(1, Math.round(cssWidth * dpr));
    const h = Math.max(1, Math.round(cssHeight * dpr));
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== h) this.canvas.height = h;
    this.ctx?.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  /** Redraws from the ring: green if the line ends above where it starts, red if below. */
  draw(ring: Float64Ring, colors: { up: string; down: string; flat: string }): void {
    const ctx = this.ctx;
    if (!ctx || this.cssWidth === 0) return;
    const { cssWidth: w, cssHeight: h } = this;
    ctx.clearRect(0, 0, w, h);
    const n = ring.copyTo(this.scratch);
    if (n < 2) return;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = this.scratch[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const pad = 1.5;
    const span = max - min || 1;
    const dx = (w - 2 * pad) / (this.scratch.length - 1);
    // Right-aligned: a young row's short history sits at the right edge, like a live feed.
    const x0 = w - pad - (n - 1) * dx;
    const first = this.scratch[0];
    const last = this.scratch[n - 1];
    ctx.strokeStyle = last > first ? colors.up : last < first ? colors.down : colors.flat;
    ctx.lineWidth = 1.25;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      const x = x0 + i * dx;
      const y = h - pad - ((this.scratch[i] - min) / span) * (h - 2 * pad);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }
}
