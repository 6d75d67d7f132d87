import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { join, relative } from 'node:path';
import { ROOT } from '../../support/build.js';

/** Where Vite writes the dashboard's bundles and their `.map` files. */
const WEB_DIST = join(ROOT, 'web/dist');

const maps = new Map<string, SourceMap | null>();

/** The source map of a served bundle (`/assets/index-….js`), or null when there is none. */
function mapFor(urlPath: string): SourceMap | null {
  let map = maps.get(urlPath);
  if (map !== undefined) return map;
  const file = join(WEB_DIST, `${urlPath}.map`);
  map = existsSync(file)
    ? new SourceMap(JSON.parse(readFileSync(file, 'utf8')) as SourceMapPayload)
    : null;
  maps.set(urlPath, map);
  return map;
}

/** `at fn (http://host:port/assets/x.js:1:2345)` or `at http://host:port/assets/x.js:1:2345`. */
const FRAME = /^(\s*at\s+(?:.*?\s+\()?)https?:\/\/[^/]+(\/[^:)]+):(\d+):(\d+)(\)?)\s*$/;

/**
 * Rewrites a browser stack trace so every frame in a bundle of `web/dist`
 * points at the TypeScript source and line it came from (Vite emits the maps
 * with `build.sourcemap`). Frames it cannot map are kept as they are.
 */
export function sourceMappedStack(stack: string): string {
  return stack
    .split('\n')
    .map((line) => {
      const m = FRAME.exec(line);
      if (!m) return line;
      const [, prefix, path, lineNo, colNo, close] = m;
      const map = mapFor(path);
      const entry = map?.findEntry(Number(lineNo) - 1, Number(colNo) - 1);
      if (!entry || !('originalSource' in entry)) return line;
      const source = entry.originalSource.replace(/^(\.\.\/)+/, '');
      const where = source.startsWith('/') ? relative(ROOT, source) : source;
      // `name` (the original identifier) is in Node 20's maps but not yet in its types.
      const original = (entry as { name?: string }).name;
      const name = original ? ` [${original}]` : '';
      return `${prefix}${where}:${entry.originalLine + 1}:${entry.originalColumn + 1}${close}${name}`;
    })
    .join('\n');
}
