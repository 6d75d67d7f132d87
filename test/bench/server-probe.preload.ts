/**
 * Preloaded (`node --import`) into every server the bench runs, ours and the
 * references alike, so event-loop delay is measured the same way everywhere
 * without touching `src/`. Talks to the runner over the IPC channel and does
 * nothing when there is none.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FromProbe, ToProbe } from './ipc-messages.js';

const send = process.send?.bind(process);

if (send) {
  // 10 ms sampling: finer adds overhead to the very thing measured.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const reply = (msg: FromProbe): void => {
    send(msg);
  };
  const ms = (ns: number): number => Math.round(ns / 1e4) / 100;

  process.on('message', (raw: unknown) => {
    const msg = raw as ToProbe;
    if (typeof msg !== 'object' || msg === null || !('probe' in msg)) return;
    switch (msg.probe) {
      case 'reset':
        delay.reset();
        reply({ probe: 'reset-done' });
        break;
      case 'read':
        reply({
          probe: 'stats',
          loop: {
            p50: ms(delay.percentile(50)),
            p99: ms(delay.percentile(99)),
            max: ms(delay.max),
            mean: ms(delay.mean),
          },
        });
        break;
      case 'gc': {
        // Only present with --expose-gc, which the runner passes to every server alike.
        const gc = (globalThis as { gc?: () => void }).gc;
        gc?.();
        const mem = process.memoryUsage();
        reply({
          probe: 'gc-done',
          rssBytes: mem.rss,
          heapUsedBytes: mem.heapUsed,
          heapTotalBytes: mem.heapTotal,
          externalBytes: mem.external,
        });
        break;
      }
      case 'exit':
        // process.exit (not a signal) so --cpu-prof gets to write its profile.
        process.exit(0);
    }
  });
  // The runner owns this server: if it dies (Ctrl-C, timeout), the server stops too.
  process.on('disconnect', () => process.exit(0));
  reply({ probe: 'ready', pid: process.pid });
}
