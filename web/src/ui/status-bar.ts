import type { ConnectionState } from '../net/market-socket.js';
import type {
  FeedState,
  FeedSourceName,
  MarketSession,
  MarketStatus,
} from '../stores/market-types.js';
import { formatMs, formatRate } from './format.js';

const STATE_TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

const BANNER_TEXT: Record<Exclude<ConnectionState, 'connected'>, string> = {
  connecting: 'Connecting to the market feed…',
  reconnecting: 'Connection lost: reconnecting. Prices shown are not live.',
  offline: 'You are offline. Prices shown are not live; the feed resumes when the network returns.',
};

const SOURCE_TEXT: Record<FeedSourceName, string> = {
  simulated: 'Simulated',
  replay: 'Replay',
  coinbase: 'Coinbase',
  alpaca: 'Alpaca',
};

const SESSION_TEXT: Record<MarketSession, string> = {
  pre: 'Pre-market',
  regular: 'Market open',
  post: 'After hours',
  closed: 'Market closed',
  always: '24/7',
};

/** What the banner says while connected but the feed itself is not live. */
const FEED_BANNER_TEXT: Record<Exclude<FeedState, 'live'>, string> = {
  idle: 'The market feed has not started yet: prices are not live.',
  connecting: 'The server is connecting to its market data source: prices are not live yet.',
  stale: 'The market data source has gone quiet: prices shown are not live.',
  reconnecting: 'The server lost its market data source and is reconnecting: prices are not live.',
  down: 'The market data source is down: prices shown are the last known, not live.',
  closed: 'The feed has ended (no more ticks): prices shown are the last ones.',
};

/** Elements of the status bar and the disconnect banner. */
export interface StatusBarElements {
  root: HTMLElement;
  state: HTMLElement;
  latency: HTMLElement;
  rate: HTMLElement;
  symbols: HTMLElement;
  /** Where the prices come from and the session, e.g. "Replay · 24/7". */
  market: HTMLElement;
  banner: HTMLElement;
}

/**
 * Connection state, latency and update rate. The numbers change several times
 * a second, so only the connection state is a live region: a screen reader
 * announces "Reconnecting…", not every latency sample. The same values are
 * mirrored in data attributes for the browser tests.
 */
export class StatusBar {
  /** The first connect may take a moment: no banner for the first second. */
  private bannerTimer: ReturnType<typeof setTimeout> | undefined;
  private connection: ConnectionState = 'connecting';
  private feed: FeedState = 'live';

  constructor(private readonly el: StatusBarElements) {
    this.setState('connecting');
  }

  /** The server's word on the market: source and session in the bar, a banner when not live. */
  setMarket(status: MarketStatus): void {
    this.feed = status.feed;
    const text = `${SOURCE_TEXT[status.source]} · ${SESSION_TEXT[status.session]}`;
    if (this.el.market.textContent !== text) this.el.market.textContent = text;
    this.el.root.dataset.feed = status.feed;
    this.el.root.dataset.source = status.source;
    this.el.root.dataset.session = status.session;
    if (this.connection === 'connected') this.showFeedBanner();
  }

  setState(state: ConnectionState): void {
    this.connection = state;
    this.el.root.dataset.state = state;
    this.el.state.textContent = STATE_TEXT[state];
    clearTimeout(this.bannerTimer);
    if (state === 'connected') {
      this.showFeedBanner();
      return;
    }
    const show = () => {
      this.el.banner.textContent = BANNER_TEXT[state];
      this.el.banner.dataset.state = state;
      this.el.banner.hidden = false;
    };
    if (state === 'connecting') this.bannerTimer = setTimeout(show, 1000);
    else show();
  }

  /** Connected: the banner says whether the feed itself is live (hidden when it is). */
  private showFeedBanner(): void {
    if (this.feed === 'live') {
      this.el.banner.hidden = true;
      return;
    }
    this.el.banner.textContent = FEED_BANNER_TEXT[this.feed];
    this.el.banner.dataset.state = `feed-${this.feed}`;
    this.el.banner.hidden = false;
  }

  setStats(stats: {
    latencyMs: number | undefined;
    perSecond: number;
    symbols: number;
    paused: boolean;
  }): void {
    const latency = stats.paused ? '—' : formatMs(stats.latencyMs);
    const rate = formatRate(stats.perSecond);
    if (this.el.latency.textContent !== latency) this.el.latency.textContent = latency;
    if (this.el.rate.textContent !== rate) this.el.rate.textContent = rate;
    const symbols = String(stats.symbols);
    if (this.el.symbols.textContent !== symbols) this.el.symbols.textContent = symbols;
    this.el.root.dataset.updatesPerSec = stats.perSecond.toFixed(1);
    this.el.root.dataset.latencyMs =
      stats.latencyMs === undefined ? '' : stats.latencyMs.toFixed(0);
  }
}
