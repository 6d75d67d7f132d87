import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const minutes = Number(process.env.MEASURE_MINUTES ?? '10');

/**
 * The dashboard's frame-rate and heap measurement: long, so it is not part of
 * `npm test`. Run it with
 *   npx vitest run --config test/browser/vitest.measure.config.ts
 * (MEASURE_MINUTES=10 by default).
 */
export default defineConfig({
  root,
  test: {
    name: 'measure',
    root,
    include: ['test/browser/**/*.measure.ts'],
    environment: 'node',
    testTimeout: (minutes * 60 + 180) * 1000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
