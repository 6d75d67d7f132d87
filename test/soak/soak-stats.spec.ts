import { describe, expect, it } from 'vitest';
import { formatTable, leastSquares, per10Minutes } from './soak-stats.js';

describe(leastSquares.name, () => {
  it('recovers the slope and intercept of points on a line', () => {
    const fit = leastSquares([0, 10, 20, 30].map((t) => ({ t, y: 5 + 0.5 * t })));
    expect(fit.slope).toBeCloseTo(0.5, 12);
    expect(fit.intercept).toBeCloseTo(5, 12);
    expect(fit.r2).toBeCloseTo(1, 12);
  });

  it('gives a zero slope for a flat series and NaN for too few points', () => {
    expect(leastSquares([0, 10, 20].map((t) => ({ t, y: 7 }))).slope).toBe(0);
    expect(leastSquares([{ t: 0, y: 1 }]).slope).toBeNaN();
    expect(
      leastSquares([
        { t: 3, y: 1 },
        { t: 3, y: 2 },
      ]).slope,
    ).toBeNaN();
  });

  it('fits noisy data to the underlying trend', () => {
    const points = Array.from({ length: 100 }, (_, i) => ({
      t: i * 10,
      y: 100 + 0.01 * i * 10 + (i % 2 ? 1 : -1),
    }));
    expect(leastSquares(points).slope).toBeCloseTo(0.01, 3);
  });
});

describe(per10Minutes.name, () => {
  it('scales a per-second rate to ten minutes', () => {
    expect(per10Minutes(1)).toBe(600);
  });
});

describe(formatTable.name, () => {
  it('right-aligns every column to its widest cell', () => {
    expect(formatTable(['a', 'bb'], [['100', '2']])).toBe('  a  bb\n---  --\n100   2');
  });
});
