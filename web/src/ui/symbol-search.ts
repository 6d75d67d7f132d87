import type { SymbolInfo } from '../stores/market-types.js';

export interface SymbolSearchActions {
  /** Text of the completion to show for what the user typed. */
  suggest(text: string): SymbolInfo[];
  /** Adds a symbol; returns an error message to show, or undefined on success. */
  add(symbol: string): string | undefined;
}

/**
 * The "add symbol" box: an ARIA 1.2 combobox with a list of completions from
 * `/api/symbols`. Arrow keys move through the list, Enter adds the highlighted
 * completion (or what was typed), Escape closes the list.
 */
export class SymbolSearch {
  private options: SymbolInfo[] = [];
  private active = -1;

  constructor(
    private readonly form: HTMLFormElement,
    private readonly input: HTMLInputElement,
    private readonly listbox: HTMLUListElement,
    private readonly message: HTMLElement,
    private readonly actions: SymbolSearchActions,
  ) {
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', listbox.id);
    listbox.setAttribute('role', 'listbox');
    input.addEventListener('input', () => {
      this.say('');
      this.refresh();
    });
    input.addEventListener('keydown', (event) => this.onKeyDown(event));
    input.addEventListener('blur', () => setTimeout(() => this.close(), 150));
    listbox.addEventListener('mousedown', (event) => event.preventDefault());
    listbox.addEventListener('click', (event) => {
      const li = (event.target as HTMLElement).closest<HTMLLIElement>('li[data-symbol]');
      if (li?.dataset.symbol) this.submit(li.dataset.symbol);
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const chosen = this.options[this.active]?.symbol;
      this.submit(chosen ?? input.value);
    });
  }

  focus(): void {
    this.input.focus();
    this.input.select();
  }

  /** Shows a message under the box (errors and confirmations); '' clears it. */
  say(text: string, kind: 'error' | 'info' = 'info'): void {
    this.message.textContent = text;
    this.message.dataset.kind = kind;
  }

  private submit(raw: string): void {
    if (raw.trim() === '') {
      this.say('Type a symbol, e.g. AAPL.', 'error');
      return;
    }
    const error = this.actions.add(raw);
    if (error) {
      this.say(error, 'error');
      return;
    }
    this.say(`Added ${raw.trim().toUpperCase()}.`);
    this.input.value = '';
    this.close();
  }

  private refresh(): void {
    this.options = this.actions.suggest(this.input.value);
    this.active = -1;
    this.listbox.replaceChildren(
      ...this.options.map((info, i) => {
        const li = document.createElement('li');
        li.id = `${this.listbox.id}-${i}`;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', 'false');
        li.dataset.symbol = info.symbol;
        const sym = document.createElement('span');
        sym.className = 'opt-sym';
        sym.textContent = info.symbol;
        const name = document.createElement('span');
        name.className = 'opt-name';
        name.textContent = info.name;
        li.append(sym, name);
        return li;
      }),
    );
    const open = this.options.length > 0;
    this.listbox.hidden = !open;
    this.input.setAttribute('aria-expanded', String(open));
    this.input.removeAttribute('aria-activedescendant');
  }

  private close(): void {
    this.options = [];
    this.active = -1;
    this.listbox.hidden = true;
    this.listbox.replaceChildren();
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
  }

  private highlight(index: number): void {
    const items = this.listbox.children;
    items[this.active]?.setAttribute('aria-selected', 'false');
    this.active = index;
    const item = items[index];
    if (item) {
      item.setAttribute('aria-selected', 'true');
      item.scrollIntoView({ block: 'nearest' });
      this.input.setAttribute('aria-activedescendant', item.id);
    } else {
      this.input.removeAttribute('aria-activedescendant');
    }
  }

  private onKeyDown(event: KeyboardEvent): void {
    const n = this.options.length;
    switch (event.key) {
      case 'ArrowDown':
        if (n === 0) this.refresh();
        else this.highlight((this.active + 1) % n);
        break;
      case 'ArrowUp':
        if (n > 0) this.highlight(this.active <= 0 ? n - 1 : this.active - 1);
        break;
      case 'Escape':
        if (n === 0 && this.input.value === '') {
          this.input.blur();
          return;
        }
        this.close();
        if (n === 0) this.input.value = '';
        break;
      default:
        return;
    }
    event.preventDefault();
  }
}
