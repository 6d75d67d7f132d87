/** Numbers and formatting for the soak report: least-squares slopes and a fixed-width table. */

export interface Point {
  /** Seconds since the run started. */
  t: number;
  y: number;
}

export interface Fit {
  /** Change of y per second. */
  slope: number;
  intercept: number;
  /** Coefficient of determination (0…1); NaN when y is constant. */
  r2: number;
  n: number;
}

/** Ordinary least-squares line through the points (needs at least two distinct t). */
export function leastSquares(points: readonly Point[]): Fit {
  const n = points.length;
  if (n < 2) return { slope: NaN, intercept: NaN, r2: NaN, n };
  let st = 0;
  let sy = 0;
  for (const p of points) {
    st += p.t;
    sy += p.y;
  }
  const mt = st / n;
  const my = sy / n;
  let stt = 0;
  let sty = 0;
  let syy = 0;
  for (const p of points) {
    stt += (p.t - mt) ** 2;
    sty += (p.t - mt) * (p.y - my);
    syy += (p.y - my) ** 2;
  }
  if (stt === 0) return { slope: NaN, intercept: NaN, r2: NaN, n };
  const slope = sty / stt;
  return { slope, intercept: my - slope * mt, r2: syy === 0 ? NaN : (sty * sty) / (stt * syy), n };
}

/** A per-second slope expressed per 10 minutes, the unit the soak thresholds use. */
export function per10Minutes(slopePerSecond: number): number {
  return slopePerSecond * 600;
}

/** Formats rows as a left-aligned text table with a header rule. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => c.padStart(widths[i])).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
