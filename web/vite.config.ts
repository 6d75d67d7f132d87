import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
/** Where `npm run dev` forwards API and socket traffic: a Nest server started separately. */
const backend = process.env.TICKSTREAM_BACKEND ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: webRoot,
  base: '/',
  publicDir: 'public',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Maps for the browser tests' stack traces (test/browser/support/source-mapped-stack.ts
    // reads them from web/dist), without the `//# sourceMappingURL` comment: the server
    // answers 404 for `*.map`, so a bundle must not point browsers at one.
    sourcemap: 'hidden',
    // chart.js + financial + date adapter is ~230 kB minified: one chunk is fine.
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      '/api': { target: backend, changeOrigin: true },
      '/health': { target: backend, changeOrigin: true },
      '/socket.io': { target: backend, ws: true, changeOrigin: true },
    },
  },
});
