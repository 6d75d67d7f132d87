import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ReplaySpeed } from '../../config/app-config.js';
import { ReplayPlayer, type ReplayPlayerOptions } from './replay-player.js';
import type { ReplayRow } from './replay-row.js';

/** A row `ms` (+ `ns`) after the file's epoch. */
function row(ms: number, ns = 0, symbol = 'AAPL'): ReplayRow {
  return { symbol, ms: 1_735_732_800_000 + ms, ns, price: 10, size: 1, bid: 10, ask: 10 };
}

function setup(speed: ReplaySpeed, overrides: Partial<ReplayPlayerOptions> = {}) {
  const scheduler = new VirtualTimeScheduler();
  const played: { ms: number; ts: number; at: number }[] = [];
  const events: string[] = [];
  const player = new ReplayPlayer({
    scheduler,
    speed,
    emit: (r, ts) => played.push({ ms: r.ms - 1_735_732_800_000, ts, at: scheduler.now() }),
    drained: () => events.push(`drained@${scheduler.now()}`),
    pause: () => events.push(`pause@${scheduler.now()}`),
    resume: () => events.push(`resume@${scheduler.now()}`),
    ...overrides,
  });
  /** Runs virtual time up to `until` (ms), with a no-op there so the clock gets that far. */
  const advance = (until: number) => {
    scheduler.schedule(() => undefined, until - scheduler.now());
    scheduler.maxFrames = until;
    scheduler.flush();
  };
  return { scheduler, player, played, events, advance };
}

describe(ReplayPlayer.name, () => {
  it("rebases the file's time: the first row at once, the spacing kept at speed 1", () => {
    const { player, played, events, advance } = setup(1);
    player.begin();
    advance(100); // the first rows arrive at t = 100
    player.push([row(5000), row(5000), row(5250), row(6000)]);
    player.end();
    expect(played).toEqual([
      { ms: 5000, ts: 100, at: 100 },
      { ms: 5000, ts: 100, at: 100 },
    ]);
    advance(1200);
    expect(played.map((p) => [p.ts, p.at])).toEqual([
      [100, 100],
      [100, 100],
      [350, 350],
      [1100, 1100],
    ]);
    expect(events).toEqual(['drained@1100']);
  });

  it('divides the spacing by the speed, to the nanosecond', () => {
    const { player, played, advance } = setup(10);
    player.begin();
    player.push([row(0), row(1000), row(1000, 500_000), row(20_000)]);
    advance(5000);
    expect(played.map((p) => p.ts)).toEqual([0, 100, 100.05, 2000]);
    // A row is played once its time has come, never before: at the next whole ms.
    expect(played.map((p) => p.at)).toEqual([0, 100, 101, 2000]);
  });

  it('plays at max speed as rows arrive, stamped with the clock', () => {
    const { player, played, events, advance } = setup('max');
    player.begin();
    advance(40);
    player.push([row(0), row(60_000)]);
    advance(70);
    player.push([row(3_600_000)]);
    player.end();
    expect(played.map((p) => [p.ts, p.at])).toEqual([
      [40, 40],
      [40, 40],
      [70, 70],
    ]);
    expect(events).toEqual(['drained@70']);
  });

  it('holds the source above the high-water mark and lets it go on below half', () => {
    const { player, played, events, advance } = setup(1, { highWaterRows: 4 });
    player.begin();
    player.push([row(0), row(10), row(20)]);
    expect(events).toEqual([]);
    player.push([row(30), row(40), row(50)]);
    expect(events).toEqual(['pause@0']);
    expect(player.pending).toBe(5);
    // Rows play at 0, 10, 20 and 30: at 30 two are left, half the mark.
    advance(25);
    expect(events).toEqual(['pause@0']);
    advance(35);
    expect(played).toHaveLength(4);
    expect(events).toEqual(['pause@0', 'resume@30']);
  });

  it('yields to the event loop after a slice of overdue rows', () => {
    const { player, played, scheduler } = setup(1000, { sliceRows: 3 });
    player.begin();
    player.push(Array.from({ length: 8 }, () => row(0)));
    expect(played).toHaveLength(3);
    // Each further slice is its own action, scheduled with no delay.
    expect(scheduler.actions.map((action) => action.delay)).toEqual([0]);
    scheduler.maxFrames = 0;
    scheduler.flush();
    expect(played).toHaveLength(8);
    expect(played.every((p) => p.ts === 0)).toBe(true);
  });

  it('starts each pass from a new origin, never stamping before the last tick', () => {
    const { player, played, events, advance } = setup(1);
    player.begin();
    player.push([row(0), row(500)]);
    player.end();
    advance(600);
    player.begin();
    player.push([row(0), row(500)]);
    player.end();
    advance(2000);
    expect(played.map((p) => p.ts)).toEqual([0, 500, 600, 1100]);
    expect(events).toEqual(['drained@500', 'drained@1100']);
  });

  it('drops the queue and its timer on stop', () => {
    const { player, played, events, scheduler } = setup(1);
    player.begin();
    player.push([row(0), row(1000)]);
    player.end();
    player.stop();
    scheduler.flush();
    expect(played).toHaveLength(1);
    expect(events).toEqual([]);
    expect(scheduler.actions).toHaveLength(0);
  });
});
