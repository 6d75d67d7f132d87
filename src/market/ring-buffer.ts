/**
 * Fixed-capacity FIFO that overwrites its oldest item when full: bounded
 * history (candles, recent ticks) with O(1) push and no reallocation.
 */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  /** Index of the oldest item. */
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`RingBuffer capacity must be a positive integer, got ${capacity}`);
    }
    this.items = new Array<T | undefined>(capacity);
  }

  /** Items held, at most `capacity`. */
  get length(): number {
    return this.size;
  }

  /** Appends `item`, evicting (and returning) the oldest one when full. */
  push(item: T): T | undefined {
    if (this.size < this.capacity) {
      this.items[(this.head + this.size) % this.capacity] = item;
      this.size++;
      return undefined;
    }
    const evicted = this.items[this.head];
    this.items[this.head] = item;
    this.head = (this.head + 1) % this.capacity;
    return evicted;
  }

  /** Item at `index` from the oldest (0); negative counts from the newest (−1). */
  at(index: number): T | undefined {
    const i = index < 0 ? this.size + index : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.size) return undefined;
    return this.items[(this.head + i) % this.capacity];
  }

  /** The newest item. */
  last(): T | undefined {
    return this.size === 0 ? undefined : this.items[(this.head + this.size - 1) % this.capacity];
  }

  /** The newest `limit` items (all by default), oldest first. */
  toArray(limit: number = this.size): T[] {
    const wanted = Number.isNaN(limit) ? 0 : Math.floor(limit);
    const count = Math.max(0, Math.min(wanted, this.size));
    const out = new Array<T>(count);
    const start = this.head + this.size - count;
    for (let k = 0; k < count; k++) out[k] = this.items[(start + k) % this.capacity] as T;
    return out;
  }

  /** Drops every item (and the references to them). */
  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.size = 0;
  }
}
