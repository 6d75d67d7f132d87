import { describe, expect, it } from 'vitest';
import { BoundedSeries, Float64Ring } from './ring-buffer.js';

const contents = (ring: Float64Ring) => Array.from({ length: ring.length }, (_, i) => ring.at(i));

describe(Float64Ring.name, () => {
  it('keeps values oldest first until full', () => {
    const ring = new Float64Ring(3);
    ring.push(1);
    ring.push(2);
    expect(ring.length).toBe(2);
    expect(contents(ring)).toEqual([1, 2]);
  });

  it('overwrites the oldest value once full', () => {
    const ring = new Float64Ring(3);
    for (const v of [1, 2, 3, 4, 5]) ring.push(v);
    expect(ring.length).toBe(3);
    expect(contents(ring)).toEqual([3, 4, 5]);
    expect(ring.totalPushed).toBe(5);
  });

  it('indexes from the newest with negative positions and is undefined out of range', () => {
    const ring = new Float64Ring(2);
    for (const v of [1, 2, 3]) ring.push(v);
    expect(ring.at(-1)).toBe(3);
    expect(ring.at(-2)).toBe(2);
    expect(ring.at(2)).toBeUndefined();
    expect(ring.at(-3)).toBeUndefined();
  });

  it('reports its extent and copies itself in order', () => {
    const ring = new Float64Ring(4);
    for (const v of [5, -1, 7, 2, 3]) ring.push(v);
    expect(ring.extent()).toEqual({ min: -1, max: 7 });
    const target = new Float64Array(4);
    expect(ring.copyTo(target)).toBe(4);
    expect([...target]).toEqual([-1, 7, 2, 3]);
  });

  it('is empty after clear', () => {
    const ring = new Float64Ring(2);
    ring.push(1);
    ring.clear();
    expect(ring.length).toBe(0);
    expect(ring.extent()).toBeUndefined();
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new Float64Ring(0)).toThrow(RangeError);
    expect(() => new Float64Ring(1.5)).toThrow(RangeError);
  });
});

describe(BoundedSeries.name, () => {
  it('never holds more than capacity + slack items, and keeps the newest', () => {
    const series = new BoundedSeries<number>(10, 4);
    let maxLength = 0;
    for (let i = 0; i < 1000; i++) {
      series.push(i);
      maxLength = Math.max(maxLength, series.length);
    }
    expect(maxLength).toBeLessThanOrEqual(14);
    expect(series.last()).toBe(999);
    expect(series.items[0]).toBeGreaterThanOrEqual(986);
    expect(series.items).toEqual([...series.items].sort((a, b) => a - b));
  });

  it('trims in batches, so most pushes drop nothing', () => {
    const series = new BoundedSeries<number>(100, 20);
    let drops = 0;
    for (let i = 0; i < 1000; i++) if (series.push(i) > 0) drops++;
    expect(drops).toBeLessThanOrEqual(45);
  });

  it('keeps the same array object, so a chart holding it sees every change', () => {
    const series = new BoundedSeries<number>(3, 1);
    const array = series.items;
    for (let i = 0; i < 10; i++) series.push(i);
    series.replace([1, 2, 3, 4, 5]);
    expect(series.items).toBe(array);
    expect(array).toEqual([3, 4, 5]);
  });

  it('drops old items from the front', () => {
    const series = new BoundedSeries<number>(10);
    for (const v of [1, 2, 3, 4]) series.push(v);
    expect(series.dropWhile((v) => v < 3)).toBe(2);
    expect(series.items).toEqual([3, 4]);
  });
});
