import { describe, expect, it } from 'vitest';
import { RingBuffer } from './ring-buffer.js';

describe(RingBuffer.name, () => {
  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
    expect(() => new RingBuffer(2.5)).toThrow(RangeError);
  });

  it('keeps items in insertion order until full', () => {
    const ring = new RingBuffer<number>(3);
    expect(ring.length).toBe(0);
    expect(ring.last()).toBeUndefined();
    expect(ring.push(1)).toBeUndefined();
    ring.push(2);
    expect(ring.toArray()).toEqual([1, 2]);
    expect(ring.last()).toBe(2);
  });

  it('never holds more than its capacity, evicting the oldest', () => {
    const ring = new RingBuffer<number>(3);
    const evicted: (number | undefined)[] = [];
    for (let i = 1; i <= 1000; i++) {
      evicted.push(ring.push(i));
      expect(ring.length).toBe(Math.min(i, 3));
    }
    expect(ring.toArray()).toEqual([998, 999, 1000]);
    expect(evicted.slice(0, 5)).toEqual([undefined, undefined, undefined, 1, 2]);
  });

  it('returns the newest `limit` items, oldest first', () => {
    const ring = new RingBuffer<number>(4);
    [1, 2, 3, 4, 5, 6].forEach((i) => ring.push(i));
    expect(ring.toArray(2)).toEqual([5, 6]);
    expect(ring.toArray(10)).toEqual([3, 4, 5, 6]);
    expect(ring.toArray(0)).toEqual([]);
    expect(ring.toArray(-3)).toEqual([]);
    expect(ring.toArray(Number.NaN)).toEqual([]);
    expect(ring.toArray(2.9)).toEqual([5, 6]);
  });

  it('indexes from the oldest, or from the newest with negatives', () => {
    const ring = new RingBuffer<string>(3);
    ['a', 'b', 'c', 'd'].forEach((s) => ring.push(s));
    expect([ring.at(0), ring.at(2), ring.at(-1), ring.at(-3)]).toEqual(['b', 'd', 'd', 'b']);
    expect(ring.at(3)).toBeUndefined();
    expect(ring.at(-4)).toBeUndefined();
  });

  it('empties on clear and fills again from scratch', () => {
    const ring = new RingBuffer<number>(2);
    [1, 2, 3].forEach((i) => ring.push(i));
    ring.clear();
    expect(ring.length).toBe(0);
    expect(ring.toArray()).toEqual([]);
    ring.push(9);
    expect(ring.toArray()).toEqual([9]);
  });
});
