import { execSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: the nearest folder up with tickstream's package.json, so
 * this works from the sources and from compiled copies (dist-soak/, dist-bench/).
 */
export function findRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tickstream'
    ) {
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`tickstream package.json not found above ${from}`);
  }
}

/** Repository root. */
export const ROOT = findRoot();

/** Newest modification time of a file, or of any file under a directory. */
function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

function stale(output: string, sources: readonly string[]): boolean {
  const out = join(ROOT, output);
  if (!existsSync(out)) return true;
  const built = statSync(out).mtimeMs;
  return sources.some((src) => newestMtime(join(ROOT, src)) > built);
}

/**
 * Builds the server (`dist/`) and, if asked, the dashboard (`web/dist/`) when
 * missing or older than their sources, so process-level and browser tests
 * drive what is checked out. (`npm test` builds first, so there this is a no-op.)
 */
export function ensureBuilt(options: { web?: boolean } = {}): void {
  const server = stale('dist/main.js', ['src']);
  const web =
    options.web === true &&
    stale('web/dist/index.html', [
      'web/src',
      'web/index.html',
      'web/vite.config.ts',
      'web/public',
      'src/shared',
    ]);
  if (server && web) execSync('npm run build', { cwd: ROOT, stdio: 'inherit' });
  else if (server) execSync('npm run build:server', { cwd: ROOT, stdio: 'inherit' });
  else if (web) execSync('npm run build:web', { cwd: ROOT, stdio: 'inherit' });
}
