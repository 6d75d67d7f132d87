#!/usr/bin/env node
// Supply-chain gate for CI: `npm audit --omit=dev` must report no high or critical
// advisory. Where the registry's advisory service cannot be reached (some mirrors
// answer 405), fall back to checking the lockfile against the patched minimum
// versions we pin for the network-facing packages, and say so loudly.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MINIMUMS = {
  'socket.io': '4.8.0',
  'engine.io': '6.6.10',
  'socket.io-parser': '4.2.7',
  'socket.io-adapter': '2.5.5',
  ws: '8.21.0',
  express: '5.0.0',
  'path-to-regexp': '8.0.0',
};

function cmp(a, b) {
  const pa = a.split(/[.-]/).map(Number);
  const pb = b.split(/[.-]/).map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

let report;
try {
  const out = execFileSync('npm', ['audit', '--omit=dev', '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  report = JSON.parse(out);
} catch (err) {
  // npm audit exits 1 when it finds vulnerabilities; its JSON is still on stdout.
  try {
    report = JSON.parse(err.stdout ?? '');
  } catch {
    report = undefined;
  }
}

if (report?.metadata?.vulnerabilities) {
  const v = report.metadata.vulnerabilities;
  console.log(`npm audit --omit=dev: ${JSON.stringify(v)}`);
  if ((v.high ?? 0) + (v.critical ?? 0) > 0) {
    console.error('FAIL: high or critical advisories in production dependencies');
    process.exit(1);
  }
  console.log('OK: no high or critical advisory');
  process.exit(0);
}

console.warn(
  '!! npm audit: the advisory service did not answer (' +
    (report?.error?.summary ?? 'no JSON report') +
    '); checking pinned minimum versions instead',
);
const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8'));
let failed = false;
for (const [name, min] of Object.entries(MINIMUMS)) {
  const versions = Object.entries(lock.packages)
    .filter(([path, meta]) => path.endsWith(`node_modules/${name}`) && !meta.dev)
    .map(([, meta]) => meta.version);
  for (const version of versions) {
    const ok = cmp(version, min) >= 0;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}@${version} (minimum ${min})`);
    if (!ok) failed = true;
  }
}
process.exit(failed ? 1 : 0);
