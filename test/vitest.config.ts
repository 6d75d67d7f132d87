import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// Nest DI needs decorator metadata, which esbuild does not emit: SWC compiles the TS.
const swcPlugin = () =>
  swc.vite({
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
    },
  });

export default defineConfig({
  root,
  test: {
    reporters: process.env.CI ? ['default'] : ['default'],
    projects: [
      {
        plugins: [swcPlugin()],
        test: {
          name: 'unit',
          root,
          include: [
            'src/**/*.spec.ts',
            'web/src/**/*.spec.ts',
            'test/bench/**/*.spec.ts',
            'test/soak/**/*.spec.ts',
            'test/support/**/*.spec.ts',
          ],
          environment: 'node',
        },
      },
      {
        plugins: [swcPlugin()],
        test: {
          name: 'e2e',
          root,
          include: ['test/e2e/**/*.e2e-spec.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        plugins: [swcPlugin()],
        test: {
          name: 'cluster',
          root,
          include: ['test/cluster/**/*.cluster-spec.ts'],
          environment: 'node',
          testTimeout: 90_000,
          hookTimeout: 180_000,
          // Real processes (Redis, a feed, gateways) on 2 cores: one file at a time.
          fileParallelism: false,
        },
      },
      {
        plugins: [swcPlugin()],
        test: {
          name: 'browser',
          root,
          include: ['test/browser/**/*.browser-spec.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
