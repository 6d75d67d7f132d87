import type { ConnectionState } from '../net/market-socket.js';
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

/** Elements of the status bar and the disconnect banner. */
export interface StatusBarElements {
  root: HTMLElement;
  state: HTMLElement;
  latency: HTMLElement;
  rate: HTMLElement;
  symbols: HTMLElement;
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

  constructor(private readonly el: StatusBarElements) {
    this.setState('connecting');
  }

  setState(state: ConnectionState): void {
    this.el.root.dataset.state = state;
    this.el.state.textContent = STATE_TEXT[state];
    clearTimeout(this.bannerTimer);
    if (state === 'connected') {
      this.el.banner.hidden = true;
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
