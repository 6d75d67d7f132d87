/**
 * Fixed-capacity FIFO of numbers on a Float64Array: pushing into a full ring
 * overwrites the oldest value, so memory is allocated once and never grows.
 * Used for per-symbol sparklines and the latency samples.
 */
export class Float64Ring {
  private readonly values: Float64Array;
  private head = 0;
  private size = 0;
  private pushed = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    this.values = new Float64Array(capacity);
  }

  /** Number of values held (≤ capacity). */
  get length(): number {
    return this.size;
  }

  /** Number of values ever pushed since the last clear: lets a reader tell what is new. */
  get totalPushed(): number {
    return this.pushed;
  }

  push(value: number): void {
    this.values[(this.head + this.size) % this.capacity] = value;
    if (this.size < this.capacity) this.size++;
    else this.head = (this.head + 1) % this.capacity;
    this.pushed++;
  }

  /** The i-th value, 0 = oldest; `undefined` when out of range. Negative i counts from the newest. */
  at(i: number): number | undefined {
    const index = i < 0 ? this.size + i : i;
    if (index < 0 || index >= this.size) return undefined;
    return this.values[(this.head + index) % this.capacity];
  }

  /** Smallest and largest value held, or undefined when empty. */
  extent(): { min: number; max: number } | undefined {
    if (this.size === 0) return undefined;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < this.size; i++) {
      const v = this.values[(this.head + i) % this.capacity];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { min, max };
  }

  /** Copies the values, oldest first, into `target` (allocated when omitted); returns the count. */
  copyTo(target: Float64Array = new Float64Array(this.size)): number {
    const n = Math.min(this.size, target.length);
    for (let i = 0; i < n; i++) target[i] = this.values[(this.head + i) % this.capacity];
    return n;
  }

  clear(): void {
    this.head = 0;
    this.size = 0;
    this.pushed = 0;
  }
}

/**
 * A bounded, oldest-first array that Chart.js can read directly.
 *
 * Chart.js wants a contiguous, sorted array, so a circular buffer would have to
 * be copied on every repaint. Instead items are appended and the oldest are
 * dropped in batches of `slack` with one `splice`: amortised O(1) per push, and
 * the length never exceeds `capacity + slack`.
 */
export class BoundedSeries<T> {
  readonly items: T[] = [];

  constructor(
    readonly capacity: number,
    private readonly slack = Math.max(16, Math.ceil(capacity / 8)),
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
  }

  get length(): number {
    return this.items.length;
  }

  last(): T | undefined {
    return this.items[this.items.length - 1];
  }

  /** Appends one item; returns how many old items were dropped (0 most of the time). */
  push(item: T): number {
    this.items.push(item);
    if (this.items.length <= this.capacity + this.slack) return 0;
    const excess = this.items.length - this.capacity;
    this.items.splice(0, excess);
    return excess;
  }

  /** Drops items from the front while `isOld` holds for them; returns the count dropped. */
  dropWhile(isOld: (item: T) => boolean): number {
    let n = 0;
    while (n < this.items.length && isOld(this.items[n])) n++;
    if (n > 0) this.items.splice(0, n);
    return n;
  }

  /** Replaces the content (keeping only the newest `capacity` items), in place. */
  replace(items: readonly T[]): void {
    const start = Math.max(0, items.length - this.capacity);
    this.items.length = 0;
    for (let i = start; i < items.length; i++) this.items.push(items[i]);
  }

  clear(): void {
    this.items.length = 0;
  }
}
