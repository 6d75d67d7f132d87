import {
  BarController,
  BarElement,
  Chart,
  Decimation,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  TimeScale,
  Tooltip,
} from 'chart.js';
import { CandlestickController, CandlestickElement } from 'chartjs-chart-financial';
import 'chartjs-adapter-date-fns';

/**
 * Registers only what the dashboard draws, so the rest of Chart.js is
 * tree-shaken: price line (+ fill, decimation), candles, volume bars, a time
 * axis, linear value axes and the tooltip. No legend, title or animations.
 */
Chart.register(
  LineController,
  LineElement,
  PointElement,
  Filler,
  BarController,
  BarElement,
  CandlestickController,
  CandlestickElement,
  LinearScale,
  TimeScale,
  Decimation,
  Tooltip,
);

export { Chart };
