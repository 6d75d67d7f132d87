import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { MARKET_FEED, type MarketFeed } from '../market-feed.js';
import { TickRecorder } from './tick-recorder.js';

/**
 * RECORD_FILE: records the feed's ticks, whatever the source, with a
 * {@link TickRecorder}. Started by MarketModule before the feed (so the
 * opening ticks are in the file) and stopped after it, once every tick
 * gathered is on disk. Without RECORD_FILE it does nothing.
 */
@Injectable()
export class RecordingService {
  private readonly recorder: TickRecorder | undefined;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(MARKET_FEED) private readonly feed: MarketFeed,
  ) {
    if (config.recordFile === undefined) return;
    this.recorder = new TickRecorder({
      file: config.recordFile,
      maxBytes: config.recordMaxBytes,
      maxFiles: config.recordMaxFiles,
      log: new Logger('TickRecorder'),
    });
  }

  /** Whether RECORD_FILE is set. */
  get active(): boolean {
    return this.recorder !== undefined;
  }

  /** Ticks recorded since boot. */
  get rows(): number {
    return this.recorder?.rows ?? 0;
  }

  /** Ticks not recorded because the disk fell behind or a write failed. */
  get dropped(): number {
    return this.recorder?.dropped ?? 0;
  }

  /** Bytes waiting in memory to be written. */
  get buffered(): number {
    return this.recorder?.buffered ?? 0;
  }

  /** Rotations of the file since boot. */
  get rotations(): number {
    return this.recorder?.rotations ?? 0;
  }

  start(): void {
    this.recorder?.start(this.feed.ticks$);
  }

  stop(): Promise<void> {
    return this.recorder?.stop() ?? Promise.resolve();
  }
}
