/**
 * Number formatting for the table and status bar. Formatters are created once:
 * `Intl.NumberFormat` construction is far slower than formatting.
 */
const price2 = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const price4 = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 4,
  maximumFractionDigits: 4,
});
const signed2 = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
  signDisplay: 'exceptZero',
});
// Three significant digits keep compact volumes at most five characters: 741K, 1.17M, 12.3M.
const compact = new Intl.NumberFormat('en-US', {
  notation: 'compact',
  maximumSignificantDigits: 3,
});
const compactTick = new Intl.NumberFormat('en-US', {
  notation: 'compact',
  maximumFractionDigits: 1,
});
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Prices: 2 decimals, 4 below 1 (penny stocks need the extra digits). */
export function formatPrice(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return Math.abs(value) < 1 ? price4.format(value) : price2.format(value);
}

/** A signed change, `+1.23` / `−1.23` (a real minus sign, as wide as the plus in tabular figures). */
export function formatChange(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return signed2.format(value).replace('-', '−');
}

/** A signed percentage, `+1.23%`. */
export function formatPct(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return `${formatChange(value)}%`;
}

/** Volumes: exact up to 99 999, then compact (`1.23M`) so the column keeps its width. */
export function formatVolume(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return Math.abs(value) < 100_000 ? integer.format(value) : compact.format(value);
}

/** A rate or a latency for the status bar. */
export function formatRate(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return value >= 100 ? integer.format(value) : value.toFixed(1);
}

export function formatMs(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return `${integer.format(value)} ms`;
}

/** Volume axis labels: short (`120K`), the axis has little room. */
export function formatVolumeTick(value: number): string {
  return Number.isFinite(value) ? compactTick.format(value) : '';
}
