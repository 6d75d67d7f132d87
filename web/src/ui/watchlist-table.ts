import { Sparkline } from '../charts/sparkline.js';
import type { QuoteRow, QuoteStore, TickDirection } from '../stores/quote-store.js';
import { SPARK_POINTS } from '../stores/quote-store.js';
import type { SortKey, WatchlistStore } from '../stores/watchlist-store.js';
import { formatChange, formatPct, formatPrice, formatVolume } from './format.js';

type NumericKey = 'price' | 'change' | 'changePct' | 'bid' | 'ask' | 'high' | 'low' | 'volume';

interface Column {
  key: SortKey | 'spark' | 'remove';
  label: string;
  /** Short label used on narrow screens (via CSS). */
  className: string;
  title?: string;
}

/** Column order and classes; widths live in styles.css so nothing moves as digits change. */
const COLUMNS: readonly Column[] = [
  { key: 'symbol', label: 'Symbol', className: 'c-sym' },
  { key: 'name', label: 'Name', className: 'c-name' },
  { key: 'price', label: 'Last', className: 'c-num c-last' },
  { key: 'change', label: 'Chg', className: 'c-num c-chg', title: 'Change since previous close' },
  { key: 'changePct', label: 'Chg %', className: 'c-num c-pct' },
  { key: 'bid', label: 'Bid', className: 'c-num c-bid' },
  { key: 'ask', label: 'Ask', className: 'c-num c-ask' },
  { key: 'high', label: 'High', className: 'c-num c-high', title: 'Day high' },
  { key: 'low', label: 'Low', className: 'c-num c-low', title: 'Day low' },
  { key: 'volume', label: 'Volume', className: 'c-num c-vol', title: 'Day volume' },
  { key: 'spark', label: 'Trend', className: 'c-spark' },
  { key: 'remove', label: 'Remove', className: 'c-rm' },
];

/** Cells that flash on a tick; day high/low/volume change too often to be worth a flash. */
const FLASHING = new Set<NumericKey>(['price', 'change', 'changePct', 'bid', 'ask']);

/**
 * How long a cell stays highlighted after a tick. The flash is a step (on,
 * then off), not a CSS fade: with 50 rows at 100 ms a fade keeps ~250 cells
 * animating, and their per-frame style recalculation alone cost ~200 ms of
 * main-thread time per second in headless Chromium. Two attribute writes per
 * tick cost next to nothing.
 */
export const FLASH_MS = 350;

/**
 * A row's sparkline is redrawn at most every 250 ms: at the 100 ms tier that
 * spares 60 % of 500 canvas redraws a second, and a 120-point line moves by
 * about a pixel per update anyway. The ring itself gets every price.
 */
const SPARK_REDRAW_MS = 250;

interface RowView {
  tr: HTMLTableRowElement;
  cells: Record<NumericKey, HTMLTableCellElement>;
  /** The text node inside each cell's contained span: writing `.data` is the cheapest update. */
  values: Record<NumericKey, Text>;
  text: Record<NumericKey, string>;
  /** When the sparkline was last drawn (see SPARK_REDRAW_MS). */
  sparkAt: number;
  /** When each cell's flash ends (ms, `performance.now()` clock); 0 = not flashing. */
  flashUntil: Record<NumericKey, number>;
  sign: number;
  name: HTMLTableCellElement;
  spark: Sparkline;
  painted: number;
}

export interface TableColors {
  up: string;
  down: string;
  flat: string;
}

export interface WatchlistTableActions {
  select(symbol: string): void;
  remove(symbol: string): void;
  move(delta: number): void;
  sort(key: SortKey): void;
}

/**
 * The watchlist table. Rows are created once per symbol and then only their
 * changed cells' text is written, inside the frame callback. Sorting and
 * selection are the store's; this class draws them and forwards input.
 */
export class WatchlistTable {
  private readonly tbody: HTMLTableSectionElement;
  private readonly headers = new Map<SortKey, HTMLTableCellElement>();
  private readonly rows = new Map<string, RowView>();
  private readonly empty: HTMLTableRowElement;
  private order: string[] = [];
  private colors: TableColors = { up: '#0c0', down: '#c00', flat: '#888' };
  private dpr = window.devicePixelRatio || 1;
  /** Cells currently highlighted, cleared by {@link paint} once their time is up. */
  private flashing: { view: RowView; key: NumericKey }[] = [];
  private now = 0;
  /** Symbols whose trading is halted (the server's `status`), badged in their rows. */
  private halted: ReadonlySet<string> = new Set();

  constructor(
    private readonly table: HTMLTableElement,
    private readonly store: QuoteStore,
    private readonly watchlist: WatchlistStore,
    private readonly actions: WatchlistTableActions,
  ) {
    table.replaceChildren();
    const colgroup = document.createElement('colgroup');
    for (const col of COLUMNS) {
      const c = document.createElement('col');
      c.className = col.className;
      colgroup.append(c);
    }
    const thead = table.createTHead();
    const headRow = thead.insertRow();
    for (const col of COLUMNS) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.className = col.className;
      if (col.key === 'spark' || col.key === 'remove') {
        const label = document.createElement('span');
        label.className = col.key === 'remove' ? 'visually-hidden' : '';
        label.textContent = col.label;
        th.append(label);
      } else {
        const key = col.key;
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'sort';
        button.textContent = col.label;
        if (col.title) button.title = col.title;
        button.addEventListener('click', () => this.actions.sort(key));
        th.append(button);
        th.setAttribute('aria-sort', 'none');
        this.headers.set(key, th);
      }
      headRow.append(th);
    }
    this.tbody = table.createTBody();
    table.prepend(colgroup);
    this.empty = document.createElement('tr');
    this.empty.className = 'empty';
    const td = this.empty.insertCell();
    td.colSpan = COLUMNS.length;
    td.textContent = 'The watchlist is empty: add a symbol above.';

    this.tbody.addEventListener('click', (event) => this.onClick(event));
    this.tbody.addEventListener('keydown', (event) => this.onKeyDown(event));
  }

  /** Current display order (sorted or the user's). */
  get displayOrder(): readonly string[] {
    return this.order;
  }

  setColors(colors: TableColors): void {
    this.colors = colors;
    for (const [symbol, view] of this.rows) {
      const row = this.store.get(symbol);
      if (row) view.spark.draw(row.spark, colors);
    }
  }

  /** Badges the rows of halted symbols (and un-badges the others). */
  setHalted(symbols: readonly string[]): void {
    this.halted = new Set(symbols);
    for (const [symbol, view] of this.rows) this.paintHalt(symbol, view.tr);
  }

  private paintHalt(symbol: string, tr: HTMLTableRowElement): void {
    const halted = this.halted.has(symbol);
    if (halted === (tr.dataset.halted === 'true')) return;
    const cell = tr.querySelector<HTMLTableCellElement>('td.c-sym');
    if (halted) {
      tr.dataset.halted = 'true';
      if (cell) cell.title = `${symbol}: trading halted`;
    } else {
      delete tr.dataset.halted;
      if (cell) cell.removeAttribute('title');
    }
    let badge = cell?.querySelector('.halt-badge');
    if (halted && cell && !badge) {
      badge = document.createElement('span');
      badge.className = 'halt-badge';
      badge.textContent = 'Halted';
      cell.append(badge);
    } else if (!halted) {
      badge?.remove();
    }
  }

  /** Shows rows in `order`, creating and removing rows as needed; moves only rows out of place. */
  setOrder(order: readonly string[]): void {
    const keep = new Set(order);
    for (const [symbol, view] of this.rows) {
      if (!keep.has(symbol)) {
        view.tr.remove();
        this.rows.delete(symbol);
        this.flashing = this.flashing.filter((f) => f.view !== view);
      }
    }
    if (order.length === 0) {
      if (!this.empty.isConnected) this.tbody.append(this.empty);
    } else {
      this.empty.remove();
    }
    let cursor: ChildNode | null = this.tbody.firstChild;
    for (const symbol of order) {
      const view = this.rows.get(symbol) ?? this.createRow(symbol);
      if (cursor === view.tr) cursor = cursor.nextSibling;
      else this.tbody.insertBefore(view.tr, cursor);
    }
    this.order = [...order];
    this.paintSelection();
  }

  /**
   * Writes the cells of rows whose quote changed and ends flashes that are
   * due. Called once per frame; returns the ms until the next flash ends
   * (Infinity when none is on), so the caller can schedule a frame for it.
   */
  paint(dirty: ReadonlySet<string>, now: number): number {
    this.now = now;
    if (this.flashing.length > 0) this.endFlashes(now);
    for (const symbol of dirty) {
      const view = this.rows.get(symbol);
      const row = this.store.get(symbol);
      if (view && row) this.paintRow(view, row);
    }
    let next = Infinity;
    for (const { view, key } of this.flashing) next = Math.min(next, view.flashUntil[key] - now);
    return next;
  }

  private endFlashes(now: number): void {
    let kept = 0;
    for (const f of this.flashing) {
      const until = f.view.flashUntil[f.key];
      if (until > now) {
        this.flashing[kept++] = f;
      } else if (until !== 0) {
        f.view.flashUntil[f.key] = 0;
        delete f.view.cells[f.key].dataset.flash;
      }
    }
    this.flashing.length = kept;
  }

  /** Marks the selected row and makes it the one Tab lands on. */
  paintSelection(): void {
    const selected = this.watchlist.selected;
    for (const [symbol, view] of this.rows) {
      const isSel = symbol === selected;
      if (isSel) view.tr.setAttribute('aria-current', 'true');
      else view.tr.removeAttribute('aria-current');
      view.tr.tabIndex = isSel ? 0 : -1;
    }
    if (!selected && this.order.length > 0) {
      const first = this.rows.get(this.order[0]);
      if (first) first.tr.tabIndex = 0;
    }
  }

  paintSort(): void {
    const sort = this.watchlist.sort;
    for (const [key, th] of this.headers) {
      const value = sort?.key === key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none';
      th.setAttribute('aria-sort', value);
    }
  }

  focusSelected(): void {
    const selected = this.watchlist.selected;
    if (selected) this.rows.get(selected)?.tr.focus({ preventScroll: false });
  }

  /** True when keyboard focus is inside the table body. */
  hasFocus(): boolean {
    return this.tbody.contains(document.activeElement);
  }

  /** Re-measures sparkline canvases (after a resize or a zoom change). */
  relayout(): void {
    this.dpr = window.devicePixelRatio || 1;
    for (const [symbol, view] of this.rows) {
      const rect = view.spark.canvas.getBoundingClientRect();
      view.spark.resize(rect.width, rect.height, this.dpr);
      const row = this.store.get(symbol);
      if (row) view.spark.draw(row.spark, this.colors);
    }
  }

  private createRow(symbol: string): RowView {
    const tr = document.createElement('tr');
    tr.dataset.symbol = symbol;
    tr.tabIndex = -1;
    const cells = {} as Record<NumericKey, HTMLTableCellElement>;
    const text = {} as Record<NumericKey, string>;
    const flashUntil = {} as Record<NumericKey, number>;
    const values = {} as Record<NumericKey, Text>;
    let name!: HTMLTableCellElement;
    let spark!: Sparkline;
    for (const col of COLUMNS) {
      const td = tr.insertCell();
      td.className = col.className;
      switch (col.key) {
        case 'symbol':
          td.textContent = symbol;
          break;
        case 'name':
          name = td;
          td.textContent = this.watchlist.info(symbol)?.name ?? '';
          td.title = td.textContent;
          break;
        case 'spark': {
          const canvas = document.createElement('canvas');
          canvas.setAttribute('aria-hidden', 'true');
          td.append(canvas);
          spark = new Sparkline(canvas, SPARK_POINTS);
          break;
        }
        case 'remove': {
          const button = document.createElement('button');
          button.type = 'button';
          button.className = 'rm';
          button.dataset.remove = symbol;
          button.tabIndex = -1;
          button.setAttribute('aria-label', `Remove ${symbol}`);
          button.title = `Remove ${symbol} (Delete)`;
          button.textContent = '×';
          td.append(button);
          break;
        }
        default: {
          const key = col.key;
          // The span is a layout boundary (contain: size layout in styles.css): a new
          // price relayouts only the span, not the whole table.
          const span = document.createElement('span');
          span.className = 'v';
          const value = document.createTextNode('—');
          span.append(value);
          td.append(span);
          values[key] = value;
          cells[key] = td;
          text[key] = '—';
          flashUntil[key] = 0;
        }
      }
    }
    const view: RowView = {
      tr,
      cells,
      values,
      text,
      flashUntil,
      sign: 0,
      name,
      spark,
      sparkAt: -Infinity,
      painted: 0,
    };
    this.rows.set(symbol, view);
    this.paintHalt(symbol, tr);
    // Sized after insertion (getBoundingClientRect needs layout); the canvas has a fixed CSS size.
    requestAnimationFrame(() => {
      const rect = spark.canvas.getBoundingClientRect();
      spark.resize(rect.width, rect.height, this.dpr);
      const row = this.store.get(symbol);
      if (row) spark.draw(row.spark, this.colors);
    });
    const row = this.store.get(symbol);
    if (row) this.paintRow(view, row);
    return view;
  }

  private paintRow(view: RowView, row: QuoteRow): void {
    if (row.version === view.painted) return;
    const q = row.quote;
    if (!view.name.textContent) {
      view.name.textContent = this.watchlist.info(row.symbol)?.name ?? '';
      view.name.title = view.name.textContent;
    }
    this.setCell(view, 'price', formatPrice(q.price), row.direction);
    this.setCell(view, 'change', formatChange(q.change), row.direction);
    this.setCell(view, 'changePct', formatPct(q.changePct), row.direction);
    this.setCell(view, 'bid', formatPrice(q.bid), row.bidDirection);
    this.setCell(view, 'ask', formatPrice(q.ask), row.askDirection);
    this.setCell(view, 'high', formatPrice(q.high), 0);
    this.setCell(view, 'low', formatPrice(q.low), 0);
    this.setCell(view, 'volume', formatVolume(q.volume), 0);
    const sign = Math.sign(q.change);
    if (sign !== view.sign) {
      view.sign = sign;
      view.tr.dataset.sign = sign > 0 ? 'up' : sign < 0 ? 'down' : 'flat';
    }
    if (this.now - view.sparkAt >= SPARK_REDRAW_MS) {
      view.spark.draw(row.spark, this.colors);
      view.sparkAt = this.now;
    }
    view.painted = row.version;
  }

  private setCell(view: RowView, key: NumericKey, text: string, dir: TickDirection): void {
    if (view.text[key] === text) return;
    const first = view.text[key] === '—';
    view.text[key] = text;
    view.values[key].data = text;
    const cell = view.cells[key];
    if (first || !FLASHING.has(key) || dir === 0) return;
    const flash = dir > 0 ? 'up' : 'down';
    if (cell.dataset.flash !== flash) cell.dataset.flash = flash;
    if (view.flashUntil[key] === 0) this.flashing.push({ view, key });
    view.flashUntil[key] = this.now + FLASH_MS;
  }

  private onClick(event: MouseEvent): void {
    const target = event.target as HTMLElement;
    const removeButton = target.closest<HTMLButtonElement>('button[data-remove]');
    if (removeButton?.dataset.remove) {
      this.actions.remove(removeButton.dataset.remove);
      return;
    }
    const tr = target.closest<HTMLTableRowElement>('tr[data-symbol]');
    if (tr?.dataset.symbol) {
      this.actions.select(tr.dataset.symbol);
      tr.focus({ preventScroll: true });
    }
  }

  private onKeyDown(event: KeyboardEvent): void {
    const selected = this.watchlist.selected;
    switch (event.key) {
      case 'ArrowDown':
        this.actions.move(1);
        break;
      case 'ArrowUp':
        this.actions.move(-1);
        break;
      case 'Home':
        this.actions.move(-Infinity);
        break;
      case 'End':
        this.actions.move(Infinity);
        break;
      case 'PageDown':
        this.actions.move(10);
        break;
      case 'PageUp':
        this.actions.move(-10);
        break;
      case 'Delete':
      case 'Backspace':
        if (!selected) return;
        this.actions.remove(selected);
        break;
      default:
        return;
    }
    event.preventDefault();
    this.focusSelected();
  }
}
