import { describe, expect, it } from 'vitest';
import { setStaticFileHeaders } from './http-hardening.js';

function cacheControlOf(path: string): string | undefined {
  const headers = new Map<string, string>();
  setStaticFileHeaders({ setHeader: (name, value) => headers.set(name, value) }, path);
  return headers.get('Cache-Control');
}

describe(setStaticFileHeaders.name, () => {
  it('marks Vite-hashed files under assets/ immutable for a year', () => {
    for (const name of ['index-BiJjIYXd.js', 'index-D9-WwOTS.css', 'index-BiJjIYXd.js.map']) {
      expect(cacheControlOf(`/srv/web/dist/assets/${name}`), name).toBe(
        'public, max-age=31536000, immutable',
      );
    }
  });

  it('makes index.html and unhashed files revalidate', () => {
    for (const path of [
      '/srv/web/dist/index.html',
      '/srv/web/dist/favicon.svg',
      // A web/public/assets/ file is copied there without a hash.
      '/srv/web/dist/assets/logo.svg',
      // A hashed name outside assets/ is not Vite's build output.
      '/srv/web/dist/index-BiJjIYXd.js',
    ]) {
      expect(cacheControlOf(path), path).toBe('no-cache');
    }
  });
});
