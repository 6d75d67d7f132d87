import type { ChartColors } from '../charts/main-chart.js';
import type { ThemeChoice } from '../stores/settings.js';

/** The colours canvas code needs, read from the CSS custom properties of the active theme. */
export interface ThemeColors {
  chart: ChartColors;
  spark: { up: string; down: string; flat: string };
}

const LABEL: Record<ThemeChoice, string> = { system: 'Auto', light: 'Light', dark: 'Dark' };

/**
 * Light and dark themes. `system` follows `prefers-color-scheme` (no
 * attribute on <html>); the toggle cycles Auto → Light → Dark.
 */
export class ThemeController {
  private readonly media = window.matchMedia('(prefers-color-scheme: dark)');

  constructor(
    private choice: ThemeChoice,
    private readonly button: HTMLButtonElement,
    private readonly changed: (choice: ThemeChoice, colors: ThemeColors) => void,
  ) {
    this.media.addEventListener('change', () => {
      if (this.choice === 'system') this.apply();
    });
    button.addEventListener('click', () => this.cycle());
    this.apply();
  }

  get effective(): 'light' | 'dark' {
    if (this.choice !== 'system') return this.choice;
    return this.media.matches ? 'dark' : 'light';
  }

  colors(): ThemeColors {
    const css = getComputedStyle(document.documentElement);
    const v = (name: string) => css.getPropertyValue(name).trim();
    return {
      chart: {
        up: v('--up'),
        down: v('--down'),
        unchanged: v('--muted'),
        line: v('--accent'),
        fill: v('--accent-fill'),
        volume: v('--volume'),
        grid: v('--grid'),
        text: v('--muted'),
        tooltipBg: v('--tooltip-bg'),
        tooltipFg: v('--tooltip-fg'),
        fontSize: Math.round(parseFloat(css.fontSize) * 0.85) || 11,
      },
      spark: { up: v('--up'), down: v('--down'), flat: v('--muted') },
    };
  }

  /** Re-reads sizes after a resize (the root font size follows the viewport width). */
  refresh(): void {
    this.changed(this.choice, this.colors());
  }

  private cycle(): void {
    const next: Record<ThemeChoice, ThemeChoice> = {
      system: 'light',
      light: 'dark',
      dark: 'system',
    };
    this.choice = next[this.choice];
    this.apply();
  }

  private apply(): void {
    const root = document.documentElement;
    if (this.choice === 'system') delete root.dataset.theme;
    else root.dataset.theme = this.choice;
    root.style.colorScheme = this.effective;
    this.button.textContent = `Theme: ${LABEL[this.choice]}`;
    this.button.setAttribute(
      'aria-label',
      `Theme: ${LABEL[this.choice]} (${this.effective}). Click to change.`,
    );
    this.changed(this.choice, this.colors());
  }
}
