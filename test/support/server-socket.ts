import { execFileSync } from 'node:child_process';
import type { TestApp } from './test-app.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';

/**
 * The server-side TCP socket of the connection from `clientPort` to `serverPort`,
 * as `ss` sees it: its state and send queue, or undefined once it is gone.
 */
export function serverSocket(
  serverPort: number,
  clientPort: number,
): { state: string; sendQ: number } | undefined {
  const out = execFileSync(
    'ss',
    ['-tnH', 'state', 'all', `( sport = :${serverPort} and dport = :${clientPort} )`],
    { encoding: 'utf8' },
  ).trim();
  if (out === '') return undefined;
  const [state, , sendQ] = out.split(/\s+/);
  return { state, sendQ: Number(sendQ) };
}

/** `tickstream_rejected_requests_total{code}`, read from the app's metrics. */
export async function rejectedCount(t: TestApp, code: string): Promise<number> {
  const { values } = await t.app.get(MetricsService).rejectedRequests.get();
  return values.find((v) => v.labels.code === code)?.value ?? 0;
}
