import type { ChartConfiguration, ChartDataset, Scale, Tick, TooltipItem } from 'chart.js';
import { format } from 'date-fns';
import { Chart } from './chart-registry.js';
import type { ChartFeed } from '../stores/chart-feed.js';
import type { CandleSeries } from '../stores/candle-series.js';
import type { CandleResolution } from '../stores/market-types.js';
import { RANGES, type ChartMode, type RangeKey } from '../stores/settings.js';
import { formatPrice, formatVolume, formatVolumeTick } from '../ui/format.js';

/** Colours the chart takes from the page's CSS custom properties. */
export interface ChartColors {
  up: string;
  down: string;
  unchanged: string;
  line: string;
  fill: string;
  volume: string;
  grid: string;
  text: string;
  tooltipBg: string;
  tooltipFg: string;
  /** Axis label size in px: follows the page's root font size (12 px on a phone, up to 18 px on 4K). */
  fontSize: number;
}

/** Canvas text cannot use CSS variables: the same stack as `--font-mono` in styles.css. */
export const MONO_FONT =
  "ui-monospace, 'SF Mono', 'Cascadia Mono', 'Roboto Mono', Menlo, Consolas, 'DejaVu Sans Mono', monospace";

type MixedType = 'line' | 'bar' | 'candlestick';
type AnyDataset = ChartDataset<MixedType, unknown[]>;

/** Spacing of time-axis labels per range: five or six labels whatever the range. */
const TICK_STEP_MS: Record<RangeKey, number> = {
  '1m': 10_000,
  '5m': 60_000,
  '15m': 180_000,
  '1h': 600_000,
};

/**
 * Volume bars under a price line use 1 s buckets up to 15 min (≤ 900 bars);
 * an hour of 1 s bars (3 600) would be thinner than a pixel, so it uses 1 min.
 */
function volumeResolution(mode: ChartMode, range: RangeKey): CandleResolution {
  if (mode !== 'line') return mode;
  return RANGES[range] <= RANGES['15m'] ? '1s' : '1m';
}

/**
 * The main chart: one Chart.js instance showing the selected symbol as a
 * price line or candlesticks, with volume bars stacked underneath on the same
 * time axis. It never repaints on its own: {@link paint} is called once per
 * animation frame and updates only when a series' version moved.
 */
export class MainChart {
  private chart: Chart<MixedType, unknown[]> | undefined;
  private mode: ChartMode;
  private range: RangeKey;
  private colors: ChartColors;
  /** Versions painted last, to skip frames where nothing changed. */
  private painted = { price: -1, candles: -1, volume: -1 };
  private configDirty = true;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly feed: ChartFeed,
    mode: ChartMode,
    range: RangeKey,
    colors: ChartColors,
  ) {
    this.mode = mode;
    this.range = range;
    this.colors = colors;
  }

  setMode(mode: ChartMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    // A different main dataset type: rebuilding is simpler and cheaper than morphing controllers.
    this.destroy();
  }

  setRange(range: RangeKey): void {
    if (range === this.range) return;
    this.range = range;
    this.configDirty = true;
  }

  setColors(colors: ChartColors): void {
    this.colors = colors;
    this.destroy();
  }

  /** Forces the next paint (e.g. after a new backfill). */
  invalidate(): void {
    this.configDirty = true;
  }

  /** Repaints if a series changed since the last paint; returns whether it did. */
  paint(): boolean {
    const volumeRes = volumeResolution(this.mode, this.range);
    const main = this.mode === 'line' ? this.feed.price : this.feed.candles[this.mode];
    const volume = this.feed.candles[volumeRes];
    const versions = {
      price: this.feed.price.version,
      candles: this.mode === 'line' ? 0 : main.version,
      volume: volume.version,
    };
    if (
      this.chart &&
      !this.configDirty &&
      versions.price === this.painted.price &&
      versions.candles === this.painted.candles &&
      versions.volume === this.painted.volume
    ) {
      return false;
    }
    const chart = this.chart ?? this.create();
    const datasets = chart.data.datasets;
    datasets[0].data = this.snapshotOfMain();
    // A copy every repaint: the volume series also changes when the line view crosses 15 min.
    datasets[1].data = volume.volumes.items.slice();
    const x = chart.options.scales?.x;
    if (x) {
      const { min, max } = this.window(volume);
      x.min = min;
      x.max = max;
    }
    chart.update('none');
    this.painted = versions;
    this.configDirty = false;
    return true;
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = undefined;
    this.configDirty = true;
  }

  /**
   * A copy of the main series for Chart.js. Chart.js reads its data arrays
   * between updates too (pointer hit-tests, tooltips, resizes) and hooks their
   * push/splice to patch its element list at once, with `parsing: false`
   * reading our objects by index. The live series change in place (pushes,
   * trims, a reset or backfill truncating them via `length = 0`, which no hook
   * sees), so a chart holding them ends up with more elements than data and
   * reads `undefined` ("Cannot read properties of undefined (reading 'x')").
   * A copy, taken only here right before `update()`, is never changed under it.
   * Cost: at most 40 000 references copied ≤ 10 times a second.
   */
  private snapshotOfMain(): unknown[] {
    return this.mode === 'line'
      ? this.feed.price.points.items.slice()
      : this.feed.candles[this.mode].candles.items.slice();
  }

  /** The visible time window: the chosen range ending at the newest data. */
  private window(volume: CandleSeries): { min: number; max: number } {
    const span = RANGES[this.range];
    let end: number;
    if (this.mode === 'line') {
      end = this.feed.price.points.last()?.x ?? Date.now();
    } else {
      const series = this.feed.candles[this.mode];
      const last = series.candles.last();
      // Candles are drawn centred on their bucket start: leave room for the forming one's right half.
      end = last ? last.x + series.widthMs * 0.75 : Date.now();
    }
    const lastBar = volume.volumes.last();
    if (lastBar && this.mode === 'line') end = Math.max(end, lastBar.x + volume.widthMs / 2);
    return { min: end - span, max: end };
  }

  private create(): Chart<MixedType, unknown[]> {
    const c = this.colors;
    const volumeRes = volumeResolution(this.mode, this.range);
    const mainDataset: AnyDataset =
      this.mode === 'line'
        ? {
            type: 'line',
            label: 'Price',
            data: this.feed.price.points.items.slice(),
            yAxisID: 'y',
            borderColor: c.line,
            backgroundColor: c.fill,
            borderWidth: 1.5,
            pointRadius: 0,
            pointHoverRadius: 3,
            pointHitRadius: 6,
            tension: 0,
            spanGaps: true,
            fill: 'start',
            normalized: true,
            indexAxis: 'x',
          }
        : {
            type: 'candlestick',
            label: `${this.mode} candles`,
            data: this.feed.candles[this.mode].candles.items.slice(),
            yAxisID: 'y',
            borderColors: { up: c.up, down: c.down, unchanged: c.unchanged },
            backgroundColors: { up: c.up, down: c.down, unchanged: c.unchanged },
          };
    const volumeDataset: AnyDataset = {
      type: 'bar',
      label: 'Volume',
      data: this.feed.candles[volumeRes].volumes.items.slice(),
      yAxisID: 'volume',
      backgroundColor: c.volume,
      borderWidth: 0,
      barPercentage: 0.9,
      categoryPercentage: 1,
      normalized: true,
    };
    const grid = { color: c.grid, drawTicks: false };
    const ticks = { color: c.text, padding: 6, font: { size: c.fontSize } };
    const { min, max } = this.window(this.feed.candles[volumeRes]);
    const xScale = {
      type: 'time' as const,
      min,
      max,
      offset: false,
      grid,
      border: { display: false },
      time: {
        displayFormats: {
          millisecond: 'HH:mm:ss.SSS',
          second: 'HH:mm:ss',
          minute: 'HH:mm',
          hour: 'HH:mm',
        },
        tooltipFormat: 'HH:mm:ss',
      },
      ticks: {
        ...ticks,
        maxRotation: 0,
        autoSkip: true,
        autoSkipPadding: 24,
        callback: (value: number | string) =>
          format(Number(value), TICK_STEP_MS[this.range] < 60_000 ? 'HH:mm:ss' : 'HH:mm'),
      },
      // Labels on round times (every 10 s, 1 min, …) rather than wherever the live window starts.
      afterBuildTicks: (scale: Scale) => {
        const step = TICK_STEP_MS[this.range];
        // Before the window is set (or with odd data) the span can reach back to 1970: keep Chart.js's ticks.
        if (!(scale.max - scale.min <= step * 100)) return;
        const ticks: Tick[] = [];
        for (let t = Math.ceil(scale.min / step) * step; t <= scale.max; t += step)
          ticks.push({ value: t });
        scale.ticks = ticks;
      },
    };
    const config: ChartConfiguration<MixedType, unknown[]> = {
      type: this.mode === 'line' ? 'line' : 'candlestick',
      data: { datasets: [mainDataset, volumeDataset] },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        resizeDelay: 50,
        interaction: {
          mode: this.mode === 'line' ? 'nearest' : 'index',
          intersect: false,
          axis: 'x',
        },
        layout: { padding: { top: 4, right: 0, bottom: 0, left: 0 } },
        plugins: {
          decimation: { enabled: true, algorithm: 'min-max' },
          tooltip: {
            backgroundColor: c.tooltipBg,
            titleColor: c.tooltipFg,
            bodyColor: c.tooltipFg,
            displayColors: false,
            bodyFont: { family: MONO_FONT, size: c.fontSize },
            titleFont: { size: c.fontSize },
            callbacks: { label: (item) => tooltipLabel(item) },
          },
        },
        scales: {
          x: xScale,
          y: {
            type: 'linear',
            position: 'right',
            stack: 'main',
            stackWeight: 4,
            // Boxes in a stack are placed top-down by ascending weight: price above volume.
            weight: 1,
            grace: '4%',
            grid,
            border: { display: false },
            ticks: { ...ticks, callback: (v) => formatPrice(Number(v)), maxTicksLimit: 8 },
          },
          volume: {
            type: 'linear',
            position: 'right',
            stack: 'main',
            stackWeight: 1,
            weight: 2,
            offset: true,
            beginAtZero: true,
            grid: { display: false },
            border: { display: false },
            ticks: { ...ticks, callback: (v) => formatVolumeTick(Number(v)), maxTicksLimit: 3 },
          },
        },
      },
    };
    this.chart = new Chart<MixedType, unknown[]>(this.canvas, config);
    return this.chart;
  }
}

function tooltipLabel(item: TooltipItem<MixedType>): string {
  const raw = item.raw as { y?: number; o?: number; h?: number; l?: number; c?: number };
  if (item.dataset.type === 'bar') return `Vol ${formatVolume(raw.y)}`;
  if (item.dataset.type === 'candlestick') {
    return `O ${formatPrice(raw.o)}  H ${formatPrice(raw.h)}  L ${formatPrice(raw.l)}  C ${formatPrice(raw.c)}`;
  }
  return formatPrice(raw.y);
}
