import { MainChart } from './charts/main-chart.js';
import type { AccessToken } from './net/access-token.js';
import { ApiClient, ApiError } from './net/api-client.js';
import { MarketSocket } from './net/market-socket.js';
import { ChartFeed } from './stores/chart-feed.js';
import {
  CANDLE_CAPACITY,
  INTERVAL_TIERS_MS,
  type Candle,
  type IntervalTierMs,
  type Quote,
  type RejectedSymbol,
} from './stores/market-types.js';
import { QuoteStore } from './stores/quote-store.js';
import {
  CHART_MODES,
  DEFAULT_SYMBOLS,
  ignoredSymbolsMessage,
  RANGES,
  saveSettings,
  type ChartMode,
  type KeyValueStorage,
  type LoadedSettings,
  type RangeKey,
  type Settings,
  type UrlState,
} from './stores/settings.js';
import { LatencyTracker, RateMeter } from './stores/stream-metrics.js';
import { WatchlistStore, type SortKey } from './stores/watchlist-store.js';
import { formatChange, formatPct, formatPrice } from './ui/format.js';
import { FrameLoop } from './ui/frame-loop.js';
import { StatusBar } from './ui/status-bar.js';
import { SymbolSearch } from './ui/symbol-search.js';
import { ThemeController } from './ui/theme.js';
import { WatchlistTable } from './ui/watchlist-table.js';

/** Live sorting by a price column re-orders rows at most this often, so rows stay readable. */
const RESORT_MS = 1000;
/**
 * Repaint caps. The table at 30 Hz: quotes arrive at 10 Hz per symbol at the
 * fastest tier, so a row never waits more than one extra frame, while half the
 * frames skip the table's style, layout and paint entirely. The chart at 10 Hz:
 * a Chart.js update of thousands of points is the most expensive single job.
 * Measured with 50 symbols at 100 ms: see the note in test/browser/measure-dashboard.measure.ts.
 */
const TABLE_MIN_MS = 32;
const CHART_MIN_MS = 100;
/** Status bar refresh: numbers that change faster than this cannot be read anyway. */
const STATUS_MS = 250;
/** 1 s candles are reconciled with the server every 5 s (the last 8 buckets). */
const RECONCILE_MS = 5000;
/**
 * Backfill sizes: all the server keeps of 1 s candles (1 h); of 1 min ones 120,
 * as 2 h covers the longest range (1 h) without fetching the whole day.
 */
const HISTORY_LIMIT = { '1s': CANDLE_CAPACITY['1s'], '1m': 120 } as const;

/** Writes text only when it differs: even an identical write dirties layout. */
function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el as T;
}

/** Test and measurement hook: read-only numbers, no way to change state. */
export interface DashboardProbe {
  updatesPerSec(): number;
  latencyMs(): number | undefined;
  candleAccuracy(): Record<'1s' | '1m', { compared: number; corrected: number }>;
  /** The selected symbol's candles as the chart holds them, oldest first (last = forming). */
  candles(resolution: '1s' | '1m'): Candle[];
  frames(): number;
}

/**
 * The composition root: wires stores, socket, REST and views, and owns the
 * one frame callback that paints the table and the chart.
 */
export class Dashboard {
  private readonly api: ApiClient;
  /** Set once the user dismissed the token prompt: do not nag again. */
  private tokenDeclined = false;
  private readonly quotes = new QuoteStore();
  private readonly feed = new ChartFeed();
  private readonly latency = new LatencyTracker();
  private readonly rate = new RateMeter();
  private readonly watchlist: WatchlistStore;
  private readonly table: WatchlistTable;
  private readonly search: SymbolSearch;
  private readonly status: StatusBar;
  private readonly socket: MarketSocket;
  private readonly chart: MainChart;
  private readonly theme: ThemeController;
  private readonly frames = new FrameLoop((now) => this.render(now));
  private settings: Settings;
  private paused = false;
  private orderDirty = true;
  private lastSort = 0;
  private framesPainted = 0;
  private historyAbort: AbortController | undefined;
  private flashTimer: ReturnType<typeof setTimeout> | undefined;
  private lastChartPaint = -Infinity;
  private lastTablePaint = -Infinity;
  private lastMinuteReconciled = 0;
  /** Says which symbols the URL or storage named that the server would refuse; shown until replaced. */
  private readonly ignoredNote: string | undefined;

  constructor(
    loaded: LoadedSettings,
    /** True when neither the URL nor storage named symbols: use the defaults. */
    private readonly firstVisit: boolean,
    private readonly url: UrlState,
    private readonly storage: KeyValueStorage | undefined,
    private readonly token: AccessToken,
  ) {
    const initial = loaded.settings;
    this.ignoredNote = ignoredSymbolsMessage(loaded.ignoredSymbols);
    this.api = new ApiClient('', undefined, token);
    this.settings = initial;
    this.watchlist = new WatchlistStore(initial.symbols, initial.selected);

    this.table = new WatchlistTable($('watchlist'), this.quotes, this.watchlist, {
      select: (s) => this.watchlist.select(s),
      remove: (s) => this.watchlist.remove(s, this.table.displayOrder),
      move: (d) => this.watchlist.moveSelection(d, this.table.displayOrder),
      sort: (k: SortKey) => this.watchlist.cycleSort(k),
    });
    this.search = new SymbolSearch(
      $('add-form'),
      $('symbol-input'),
      $('symbol-options'),
      $('add-message'),
      {
        suggest: (text) => this.watchlist.suggest(text),
        add: (symbol) => {
          const result = this.watchlist.add(symbol);
          return result.ok ? undefined : result.message;
        },
      },
    );
    this.status = new StatusBar({
      root: $('statusbar'),
      state: $('conn-state'),
      latency: $('stat-latency'),
      rate: $('stat-rate'),
      symbols: $('stat-symbols'),
      market: $('stat-market'),
      banner: $('banner'),
    });
    this.socket = new MarketSocket(
      window.location.origin,
      {
        quotes: (batch) => this.onQuotes(batch),
        snapshot: (batch, fresh) => this.onSnapshot(batch, fresh),
        rejected: (rejected) => this.onRejected(rejected),
        state: (state) => {
          this.status.setState(state);
          if (state !== 'connected') this.latency.clear();
        },
        market: (status) => {
          this.status.setMarket(status);
          this.table.setHalted(status.halted);
        },
        problem: (message) => this.search.say(message, 'error'),
        resynced: () => this.loadChart(),
        unauthorized: () => this.askForToken(),
      },
      initial.intervalMs,
      token,
    );
    this.chart = new MainChart(
      $('main-chart'),
      this.feed,
      initial.chart,
      initial.range,
      // Replaced by the theme controller's first callback, right below.
      {
        up: '#0a0',
        down: '#a00',
        unchanged: '#888',
        line: '#08f',
        fill: 'transparent',
        volume: '#888',
        grid: '#333',
        text: '#888',
        tooltipBg: '#000',
        tooltipFg: '#fff',
        fontSize: 11,
      },
    );
    this.theme = new ThemeController(initial.theme, $('theme-toggle'), (choice, colors) => {
      this.chart.setColors(colors.chart);
      this.table.setColors(colors.spark);
      this.update({ theme: choice });
    });

    this.watchlist.onChange((change) => {
      if (change === 'symbols') {
        this.socket.setSymbols(this.watchlist.symbols);
        for (const symbol of [...this.table.displayOrder]) {
          if (!this.watchlist.symbols.includes(symbol)) this.quotes.remove(symbol);
        }
        this.orderDirty = true;
        this.update({ symbols: [...this.watchlist.symbols] });
      } else if (change === 'sort') {
        this.orderDirty = true;
        this.table.paintSort();
      } else {
        this.table.paintSelection();
        this.update({ selected: this.watchlist.selected });
        this.loadChart();
      }
      this.frames.request();
    });

    this.wireControls();
    this.table.paintSort();
  }

  /** Test and measurement hook. */
  readonly probe: DashboardProbe = {
    updatesPerSec: () => this.rate.perSecond(Date.now()),
    latencyMs: () => this.latency.median(),
    candleAccuracy: () => ({
      '1s': { ...this.feed.candles['1s'].accuracy },
      '1m': { ...this.feed.candles['1m'].accuracy },
    }),
    candles: (resolution) => {
      const series = this.feed.candles[resolution];
      return series.candles.items.map((c, i) => ({
        t: c.x,
        o: c.o,
        h: c.h,
        l: c.l,
        c: c.c,
        v: series.volumes.items[i]?.y ?? 0,
      }));
    },
    frames: () => this.framesPainted,
  };

  async start(): Promise<void> {
    if (this.ignoredNote) this.search.say(this.ignoredNote, 'error');
    this.socket.setSymbols(this.watchlist.symbols);
    this.socket.start();
    this.frames.request();
    setInterval(() => this.paintStatus(), STATUS_MS);
    setInterval(() => void this.reconcile(), RECONCILE_MS);
    let fontSize = this.theme.colors().chart.fontSize;
    window.addEventListener('resize', () => {
      this.table.relayout();
      const now = this.theme.colors().chart.fontSize;
      // The root font size follows the viewport width: rebuild the chart when its labels must grow.
      if (now !== fontSize) {
        fontSize = now;
        this.theme.refresh();
        this.frames.request();
      }
    });
    await this.loadUniverse();
  }

  /**
   * The server runs with AUTH_TOKENS and refused us: ask once for a token (a
   * `?token=` link avoids the question), then reconnect with it.
   */
  private askForToken(): void {
    if (this.tokenDeclined) return;
    const entered = window.prompt(
      this.token.get()
        ? 'The access token was refused. Enter a valid token:'
        : 'This tickstream server needs an access token:',
      '',
    );
    if (entered === null || entered.trim() === '') {
      this.tokenDeclined = true;
      this.search.say('Access token required: open the dashboard with ?token=…', 'error');
      return;
    }
    this.token.set(entered);
    this.socket.reconnect();
  }

  /** Fetches `/api/symbols` (retrying while the server is down) to validate and name symbols. */
  private async loadUniverse(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const universe = await this.api.symbols();
        this.watchlist.setUniverse(universe);
        break;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) this.askForToken();
        await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
      }
    }
    if (this.firstVisit) {
      const known = DEFAULT_SYMBOLS.filter((s) => this.watchlist.info(s));
      // An unfamiliar universe: fall back to its first ten names.
      const pick = known.length >= 5 ? known : this.universeHead(10);
      if (pick.join() !== this.watchlist.symbols.join()) this.watchlist.replace(pick);
    } else {
      const dropped = this.watchlist.retainKnown();
      if (dropped.length > 0) {
        const removed = `Removed unknown symbols: ${dropped.join(', ')}.`;
        // Both notes at once: the second must not hide the first.
        this.search.say(this.ignoredNote ? `${this.ignoredNote} ${removed}` : removed, 'error');
      }
    }
    // Names arrive after the rows were created.
    this.table.setOrder([]);
    this.orderDirty = true;
    this.frames.request();
  }

  private universeHead(n: number): string[] {
    return this.watchlist
      .universe()
      .slice(0, n)
      .map((s) => s.symbol);
  }

  private wireControls(): void {
    const rate = $<HTMLSelectElement>('rate');
    rate.replaceChildren(
      ...INTERVAL_TIERS_MS.map((ms) => {
        const option = document.createElement('option');
        option.value = String(ms);
        option.textContent = ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
        return option;
      }),
    );
    rate.value = String(this.settings.intervalMs);
    rate.addEventListener('change', () => {
      const ms = Number(rate.value) as IntervalTierMs;
      this.rate.clear();
      this.latency.clear();
      this.socket.setInterval(ms);
      this.update({ intervalMs: ms });
    });

    const pause = $<HTMLButtonElement>('pause');
    pause.addEventListener('click', () => {
      this.paused = !this.paused;
      pause.setAttribute('aria-pressed', String(this.paused));
      pause.textContent = this.paused ? 'Resume' : 'Pause';
      document.body.classList.toggle('paused', this.paused);
      this.socket.setPaused(this.paused);
      this.paintStatus();
    });

    this.wireSegmented('chart-mode', this.settings.chart, (value) => {
      if (!(CHART_MODES as readonly string[]).includes(value)) return;
      this.chart.setMode(value as ChartMode);
      this.update({ chart: value as ChartMode });
      this.paintChartLabel();
      this.frames.request();
    });
    this.wireSegmented('chart-range', this.settings.range, (value) => {
      if (!Object.hasOwn(RANGES, value)) return;
      this.chart.setRange(value as RangeKey);
      this.update({ range: value as RangeKey });
      this.paintChartLabel();
      this.frames.request();
    });

    document.addEventListener('keydown', (event) => {
      const target = event.target as HTMLElement;
      const typing = target.closest('input, select, textarea');
      if (event.key === '/' && !typing) {
        event.preventDefault();
        this.search.focus();
      }
    });
  }

  /** A group of toggle buttons (`aria-pressed`) where exactly one is on. */
  private wireSegmented(id: string, initial: string, changed: (value: string) => void): void {
    const group = $(id);
    const buttons = [...group.querySelectorAll<HTMLButtonElement>('button[data-value]')];
    const press = (value: string) => {
      for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.value === value));
    };
    press(initial);
    group.addEventListener('click', (event) => {
      const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-value]');
      const value = button?.dataset.value;
      if (!value || button.getAttribute('aria-pressed') === 'true') return;
      press(value);
      changed(value);
    });
  }

  private update(patch: Partial<Settings>): void {
    this.settings = { ...this.settings, ...patch };
    saveSettings(this.settings, this.url, this.storage);
  }

  private onQuotes(batch: Quote[]): void {
    const now = Date.now();
    this.rate.add(batch.length, now);
    let any = false;
    for (const quote of batch) {
      if (!this.quotes.ingest(quote)) continue;
      any = true;
      this.latency.record(now - quote.ts);
      this.feed.applyQuote(quote);
    }
    if (any) this.frames.request();
  }

  private onSnapshot(batch: Quote[], fresh: boolean): void {
    for (const quote of batch) {
      if (!this.watchlist.symbols.includes(quote.symbol)) continue;
      if (fresh) this.quotes.ingestSnapshot(quote);
      else this.quotes.ingest(quote);
    }
    // A first snapshot can change a live sort order; rows without quotes sort last.
    if (this.watchlist.sort) this.orderDirty = true;
    this.frames.request();
  }

  private onRejected(rejected: RejectedSymbol[]): void {
    const unknown = rejected.filter((r) => r.code === 'UNKNOWN_SYMBOL').map((r) => r.symbol);
    for (const symbol of unknown) this.watchlist.remove(symbol, this.table.displayOrder);
    const text = rejected.map((r) => `${r.symbol}: ${r.message}`).join(' ');
    this.search.say(text, 'error');
  }

  /** Backfills the chart of the selected symbol from `/api/history`, then it continues live. */
  private loadChart(): void {
    const symbol = this.watchlist.selected;
    this.historyAbort?.abort();
    this.paintChartHeader();
    const overlay = $('chart-overlay');
    if (!symbol) {
      this.feed.reset('');
      this.chart.invalidate();
      overlay.textContent = 'Add a symbol to see its chart.';
      overlay.hidden = false;
      this.frames.request();
      return;
    }
    const abort = new AbortController();
    this.historyAbort = abort;
    this.feed.reset(symbol);
    this.chart.invalidate();
    overlay.textContent = `Loading ${symbol}…`;
    overlay.hidden = false;
    this.paintChartLabel();
    Promise.all([
      this.api.history(symbol, '1s', HISTORY_LIMIT['1s'], abort.signal),
      this.api.history(symbol, '1m', HISTORY_LIMIT['1m'], abort.signal),
    ])
      .then(([s1, m1]) => {
        if (abort.signal.aborted) return;
        this.feed.load({ '1s': s1, '1m': m1 });
        overlay.hidden = true;
        this.chart.invalidate();
        this.frames.request();
      })
      .catch((error: unknown) => {
        if (abort.signal.aborted) return;
        // Live quotes still draw; the next (re)connect retries the backfill.
        this.feed.load({ '1s': [], '1m': [] });
        overlay.textContent = `History unavailable (${error instanceof Error ? error.message : 'error'}); showing live data only.`;
        setTimeout(() => {
          if (this.historyAbort === abort) overlay.hidden = true;
        }, 4000);
        this.frames.request();
      });
  }

  /** Replaces closed candles with the server's (see CandleSeries for why). */
  private async reconcile(): Promise<void> {
    const symbol = this.feed.symbol;
    if (!symbol || this.feed.loading || this.paused || this.socket.state !== 'connected') return;
    try {
      const s1 = await this.api.history(symbol, '1s', 8);
      if (this.feed.symbol !== symbol || this.feed.loading) return;
      this.feed.candles['1s'].reconcile(s1);
      const minute = Math.floor((Date.now() - 2000) / 60_000);
      if (minute !== this.lastMinuteReconciled) {
        this.lastMinuteReconciled = minute;
        const m1 = await this.api.history(symbol, '1m', 3);
        if (this.feed.symbol !== symbol || this.feed.loading) return;
        this.feed.candles['1m'].reconcile(m1);
      }
      this.frames.request();
    } catch {
      // Reconciling is best effort: the next round or the next backfill catches up.
    }
  }

  private render(now: number): void {
    this.framesPainted++;
    // The chart at most every CHART_MIN_MS, the table at most every TABLE_MIN_MS,
    // and never both in one frame: no frame carries the whole cost, so none is dropped.
    if (now - this.lastChartPaint >= CHART_MIN_MS && this.chart.paint()) {
      this.lastChartPaint = now;
      if (this.quotes.hasDirty()) this.frames.request();
      return;
    }
    if (now - this.lastTablePaint < TABLE_MIN_MS) {
      this.frames.request();
      return;
    }
    this.lastTablePaint = now;
    const dirty = this.quotes.takeDirty();
    const sort = this.watchlist.sort;
    const liveSort = sort !== undefined && sort.key !== 'symbol' && sort.key !== 'name';
    if (this.orderDirty || (liveSort && dirty.size > 0 && now - this.lastSort >= RESORT_MS)) {
      const focused = this.table.hasFocus();
      this.table.setOrder(this.watchlist.ordered((s) => this.quotes.get(s)?.quote));
      if (focused) this.table.focusSelected();
      this.orderDirty = false;
      this.lastSort = now;
    }
    const nextFlashEnd = this.table.paint(dirty, now);
    if (nextFlashEnd !== Infinity && this.flashTimer === undefined) {
      // Quotes usually bring the next frame sooner; this covers a quiet feed.
      this.flashTimer = setTimeout(() => {
        this.flashTimer = undefined;
        this.frames.request();
      }, nextFlashEnd + 5);
    }
    const selected = this.watchlist.selected;
    if (selected && dirty.has(selected)) this.paintChartHeader();
  }

  private paintChartHeader(): void {
    const symbol = this.watchlist.selected;
    const q = symbol ? this.quotes.get(symbol)?.quote : undefined;
    setText($('chart-symbol'), symbol ?? '—');
    setText($('chart-name'), symbol ? (this.watchlist.info(symbol)?.name ?? '') : '');
    setText($('chart-last'), formatPrice(q?.price));
    const change = $('chart-change');
    setText(change, q ? `${formatChange(q.change)} (${formatPct(q.changePct)})` : '—');
    const sign = !q || q.change === 0 ? 'flat' : q.change > 0 ? 'up' : 'down';
    if (change.dataset.sign !== sign) change.dataset.sign = sign;
  }

  private paintChartLabel(): void {
    const symbol = this.watchlist.selected ?? 'No symbol';
    const mode = this.settings.chart === 'line' ? 'price line' : `${this.settings.chart} candles`;
    $('main-chart').setAttribute(
      'aria-label',
      `${symbol} ${mode} with volume, last ${this.settings.range}`,
    );
  }

  private paintStatus(): void {
    const now = Date.now();
    this.status.setStats({
      latencyMs: this.latency.median(),
      perSecond: this.rate.perSecond(now),
      symbols: this.watchlist.symbols.length,
      paused: this.paused,
    });
  }
}
