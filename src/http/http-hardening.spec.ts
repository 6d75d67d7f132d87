import { describe, expect, it } from 'vitest';
import { isSourceMapRequest, setStaticFileHeaders } from './http-hardening.js';

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

describe(isSourceMapRequest.name, () => {
  it('matches a source map however the path spells it', () => {
    for (const path of [
      '/assets/index-BiJjIYXd.js.map',
      '/assets/index-D9-WwOTS.css.map',
      '/assets/index-BiJjIYXd.js.MAP',
      '/assets/index-BiJjIYXd.js%2Emap',
      '/assets/index-BiJjIYXd.js.%6d%61%70',
      '/api/../assets/index-BiJjIYXd.js.map',
      '/api/%2E%2E/assets/index-BiJjIYXd.js.map',
      '//assets/index-BiJjIYXd.js.map',
      '/anything.map',
    ]) {
      expect(isSourceMapRequest(path), path).toBe(true);
    }
  });

  it("leaves the bundles, Nest's /api routes and undecodable paths alone", () => {
    for (const path of [
      '/assets/index-BiJjIYXd.js',
      '/assets/index-BiJjIYXd.js.map/',
      '/assets/index-BiJjIYXd.map.js',
      // A symbol may end in `.MAP`.
      '/api/history/X.MAP',
      '/API/history/X.map',
      // `send` answers these 400 itself.
      '/assets/index-BiJjIYXd.js%E0.map',
      '/',
    ]) {
      expect(isSourceMapRequest(path), path).toBe(false);
    }
  });
});
