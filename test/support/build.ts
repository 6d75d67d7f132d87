import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs;
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

function stale(output: string, sources: string[]): boolean {
  const out = join(ROOT, output);
  if (!existsSync(out)) return true;
  const built = statSync(out).mtimeMs;
  return sources.some((src) => newestMtime(join(ROOT, src)) > built);
}

/**
 * Builds the server (`dist/`) and, if asked, the dashboard (`web/dist/`) when
 * missing or older than their sources, so process-level tests run what is checked out.
 */
export function ensureBuilt(options: { web?: boolean } = {}): void {
  if (stale('dist/main.js', ['src'])) {
    execSync('npm run build:server', { cwd: ROOT, stdio: 'inherit' });
  }
  if (options.web && stale('web/dist/index.html', ['web/src', 'web/index.html', 'src/shared'])) {
    execSync('npm run build:web', { cwd: ROOT, stdio: 'inherit' });
  }
}
