import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS } from './app-config.js';

describe('CONFIG_DOCS', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it.each(CONFIG_DOCS.map((d) => d.key))('%s is documented in the README', (key) => {
    expect(readme).toContain(`| \`${key}\` |`);
  });
});
