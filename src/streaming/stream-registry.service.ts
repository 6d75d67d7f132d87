import { Inject, Injectable, Logger, type OnModuleDestroy, Optional } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import type { SchedulerLike, Subscription } from 'rxjs';
import { MARKET_SCHEDULER } from '../market/market-feed.js';
import { MarketStateService } from '../market/market-state.service.js';
import { buildQuote } from '../market/quote.js';
import { UnknownSymbolError } from '../market/unknown-symbol.error.js';
import { INTERVAL_TIERS_MS, type IntervalTierMs, type Quote } from '../shared/protocol.js';
import { type Conflated, conflate } from './conflate.operator.js';
import { ThrottledErrorLog } from './throttled-error-log.js';
import { TierClock } from './tier-clock.js';
import { RegistryClosedError } from './registry-closed.error.js';

/** One conflated update of a symbol at a tier. */
export interface TierUpdate {
  symbol: string;
  quote: Quote;
}

/** Receives each conflated update once per (symbol, tier); fans it out to that pipeline's clients. */
export interface QuoteSink {
  /**
   * Every update of one tier clock tick, all at once (every pipeline of a
   * tier emits on its shared clock), so each client can get one frame for
   * all its symbols.
   */
  publishBatch(tier: IntervalTierMs, updates: readonly TierUpdate[]): void;
}

/** The part of the market state the registry reads; lets specs pass a small fake. */
export type MarketStateReader = Pick<MarketStateService, 'symbolTicks$' | 'session' | 'has'> &
  Partial<Pick<MarketStateService, 'restored$' | 'snapshot'>>;

/**
 * One client's holdings at one tier, as the fan-out reads them: a frame is
 * built by walking `pipelines` and picking each one's text out of the batch
 * by `slot` (array reads, no per-symbol map lookups on the hot path).
 */
export interface TierHolding {
  readonly clientId: string;
  /** The pipelines it holds at this tier, in subscription order. Live: updated in place. */
  readonly pipelines: readonly FanOutPipeline[];
}

/** What the fan-out reads of a (symbol, tier) pipeline. */
export interface FanOutPipeline {
  /** Unique among the tier's live pipelines (a released slot may be reused). */
  readonly slot: number;
  /** The holdings of the clients holding this (symbol, tier). */
  readonly holders: ReadonlySet<TierHolding>;
}

/** The fan-out's view of one tier: who holds anything at it, and its pipelines' slots. */
export interface TierFanOut {
  /** clientId → its holding at this tier; only clients holding at least one symbol here. */
  readonly holdings: ReadonlyMap<string, TierHolding>;
  /** Every live pipeline's slot is below this. */
  readonly slotLimit: number;
}

/** A tier's shared clock, the updates of the tick it is delivering, and its fan-out index. */
interface TierState extends TierFanOut {
  readonly clock: TierClock;
  batch: TierUpdate[];
  readonly holdings: Map<string, MutableHolding>;
  slotLimit: number;
  /** Slots of released pipelines, reused before new ones are taken. */
  readonly freeSlots: number[];
}

interface MutableHolding extends TierHolding {
  readonly pipelines: Pipeline[];
}

/** One shared conflation pipeline, alive while at least one client holds it. */
interface Pipeline extends FanOutPipeline {
  readonly symbol: string;
  readonly tier: IntervalTierMs;
  readonly tierState: TierState;
  /** The clients holding this (symbol, tier): who a fan-out serves. */
  readonly holders: Set<MutableHolding>;
  /** Assigned once the pipeline is live (-1 until then). */
  slot: number;
  subscription: Subscription | undefined;
}

/**
 * Owns client → symbol subscriptions and one conflation pipeline per
 * (symbol, tier), reference counted by the clients holding it. RxJS work and
 * quote building grow with symbols × tiers, never with clients: a thousand
 * clients on one (symbol, tier) share one pipeline and one update per window.
 *
 * Each tier has one {@link TierClock}, ticking `framesPerWindow` times per
 * window (FRAMES_PER_WINDOW); its pipelines all emit while it ticks, and
 * reach the sink as one `publishBatch` per tick, so a client gets at most
 * that many frames per window. Busy symbols go out once per window either
 * way; with 2, the first tick after a quiet spell waits at most half a window
 * (50 ms at the 100 ms tier) instead of up to a whole one.
 */
@Injectable()
export class StreamRegistry implements OnModuleDestroy {
  private readonly logger = new Logger(StreamRegistry.name);
  /** clientId → (symbol → tier). A client with no symbol left is removed. */
  private readonly clients = new Map<string, Map<string, IntervalTierMs>>();
  /** symbol → (tier → pipeline). */
  private readonly pipelines = new Map<string, Map<IntervalTierMs, Pipeline>>();
  /** One clock per tier, made on first use (its timer runs only while the tier has pipelines). */
  private readonly tiers = new Map<IntervalTierMs, TierState>();
  private sink: QuoteSink | undefined;
  private closed = false;
  private subscriptions = 0;
  private livePipelines = 0;
  private published = 0;
  private absorbed = 0;
  private sinkFailures = 0;
  private readonly errorLog = new ThrottledErrorLog(this.logger);

  private readonly framesPerWindow: number;
  private readonly restoredSubscription: Subscription | undefined;

  constructor(
    @Inject(MarketStateService) private readonly state: MarketStateReader,
    @Inject(MARKET_SCHEDULER) private readonly scheduler: SchedulerLike,
    @Optional() @Inject(APP_CONFIG) config?: Pick<AppConfig, 'framesPerWindow'>,
  ) {
    this.framesPerWindow = config?.framesPerWindow ?? 1;
    this.restoredSubscription = state.restored$?.subscribe(() => this.restart());
  }

  /** Quotes handed to the sink without it throwing. */
  get quotesPublished(): number {
    return this.published;
  }

  /** Ticks superseded inside a window (Σ (n − 1) over updates): work conflation saved. */
  get ticksConflated(): number {
    return this.absorbed;
  }

  /** Calls to the sink that threw. */
  get sinkErrors(): number {
    return this.sinkFailures;
  }

  /** Attaches the fan-out target; updates produced while none is attached are dropped. */
  setSink(sink: QuoteSink): void {
    this.sink = sink;
  }

  /**
   * Subscribes a client to a symbol at a tier. Idempotent; a different tier
   * moves the client (acquiring the new pipeline before releasing the old one,
   * so a failure leaves it where it was).
   */
  subscribe(
    clientId: string,
    symbol: string,
    tier: IntervalTierMs,
  ): { previousTier: IntervalTierMs | undefined } {
    let held = this.clients.get(clientId);
    const previousTier = held?.get(symbol);
    if (previousTier === tier) return { previousTier };
    if (this.closed) throw new RegistryClosedError();
    if (!(INTERVAL_TIERS_MS as readonly number[]).includes(tier)) {
      throw new RangeError(`not an interval tier: ${tier}`);
    }
    if (!this.state.has(symbol)) throw new UnknownSymbolError(symbol);

    this.acquire(clientId, symbol, tier);
    if (previousTier !== undefined) {
      this.release(clientId, symbol, previousTier);
    } else {
      this.subscriptions++;
    }
    if (held === undefined) {
      held = new Map();
      this.clients.set(clientId, held);
    }
    held.set(symbol, tier);
    return { previousTier };
  }

  /** Drops one subscription; returns the tier it held, or undefined if there was none. */
  unsubscribe(clientId: string, symbol: string): IntervalTierMs | undefined {
    const held = this.clients.get(clientId);
    const tier = held?.get(symbol);
    if (held === undefined || tier === undefined) return undefined;
    held.delete(symbol);
    if (held.size === 0) this.clients.delete(clientId);
    this.subscriptions--;
    this.release(clientId, symbol, tier);
    return tier;
  }

  /** Drops every subscription of a client (on disconnect) and returns what it held. */
  releaseClient(clientId: string): Array<{ symbol: string; tier: IntervalTierMs }> {
    const held = this.clients.get(clientId);
    if (held === undefined) return [];
    this.clients.delete(clientId);
    const released: Array<{ symbol: string; tier: IntervalTierMs }> = [];
    for (const [symbol, tier] of held) {
      this.subscriptions--;
      this.release(clientId, symbol, tier);
      released.push({ symbol, tier });
    }
    return released;
  }

  /** A snapshot copy of the client's symbols and tiers (empty for an unknown client). */
  clientSymbols(clientId: string): ReadonlyMap<string, IntervalTierMs> {
    return new Map(this.clients.get(clientId));
  }

  /**
   * The live (symbol → tier) map of a client, not a copy: for the fan-out's
   * hot path, which reads it once per client per window. Undefined when the
   * client holds nothing.
   */
  heldBy(clientId: string): ReadonlyMap<string, IntervalTierMs> | undefined {
    return this.clients.get(clientId);
  }

  /**
   * The live pipeline of `symbol` at `tier` (its slot and holders), not a
   * copy: for the fan-out's hot path. Undefined when nobody holds it.
   */
  pipelineOf(symbol: string, tier: IntervalTierMs): FanOutPipeline | undefined {
    return this.pipelines.get(symbol)?.get(tier);
  }

  /** Ids of the clients holding `symbol` at `tier` (a copy); undefined when nobody holds it. */
  holdersOf(symbol: string, tier: IntervalTierMs): ReadonlySet<string> | undefined {
    const pipeline = this.pipelines.get(symbol)?.get(tier);
    if (pipeline === undefined) return undefined;
    return new Set(Array.from(pipeline.holders, (h) => h.clientId));
  }

  /**
   * The live fan-out index of a tier, not a copy: for the fan-out's hot path.
   * Undefined for a tier never used.
   */
  tierFanOut(tier: IntervalTierMs): TierFanOut | undefined {
    return this.tiers.get(tier);
  }

  /** Clients holding at least one subscription. */
  clientCount(): number {
    return this.clients.size;
  }

  /** Total (client, symbol) subscriptions. */
  subscriptionCount(): number {
    return this.subscriptions;
  }

  /** Live (symbol, tier) pipelines. */
  pipelineCount(): number {
    return this.livePipelines;
  }

  pipelineStats(): Array<{ symbol: string; tier: IntervalTierMs; subscribers: number }> {
    const stats: Array<{ symbol: string; tier: IntervalTierMs; subscribers: number }> = [];
    for (const byTier of this.pipelines.values()) {
      for (const p of byTier.values()) {
        stats.push({ symbol: p.symbol, tier: p.tier, subscribers: p.holders.size });
      }
    }
    return stats;
  }

  /**
   * After the market state was replaced (a gateway's resync): every pipeline
   * starts a fresh window (what it held belongs to the old state, maybe to
   * an old epoch), and every holder gets the fresh snapshot of what it holds,
   * one batch per tier, through the sink like any update.
   */
  private restart(): void {
    if (this.closed) return;
    for (const [tier, tierState] of this.tiers) {
      tierState.batch = [];
      const updates: TierUpdate[] = [];
      for (const byTier of this.pipelines.values()) {
        const pipeline = byTier.get(tier);
        if (pipeline === undefined) continue;
        pipeline.subscription?.unsubscribe();
        pipeline.subscription = this.connect(pipeline);
        const quote = this.state.snapshot?.(pipeline.symbol);
        if (quote !== undefined) updates.push({ symbol: pipeline.symbol, quote });
      }
      if (updates.length === 0 || this.sink === undefined) continue;
      try {
        this.sink.publishBatch(tier, updates);
        this.published += updates.length;
      } catch (err) {
        this.sinkFailed(`tier ${tier}ms snapshots after a resync`, err);
      }
    }
  }

  /** Stops every pipeline and forgets every client; later subscribes are refused. */
  onModuleDestroy(): void {
    this.restoredSubscription?.unsubscribe();
    this.closed = true;
    for (const byTier of this.pipelines.values()) {
      for (const p of byTier.values()) p.subscription?.unsubscribe();
    }
    this.pipelines.clear();
    for (const t of this.tiers.values()) {
      t.batch = [];
      t.holdings.clear();
      t.freeSlots.length = 0;
      t.slotLimit = 0;
    }
    this.clients.clear();
    this.livePipelines = 0;
    this.subscriptions = 0;
    this.sink = undefined;
  }

  private acquire(clientId: string, symbol: string, tier: IntervalTierMs): void {
    let byTier = this.pipelines.get(symbol);
    const existing = byTier?.get(tier);
    if (existing !== undefined) {
      this.hold(existing, clientId);
      return;
    }
    const tierState = this.tierState(tier);
    const pipeline: Pipeline = {
      symbol,
      tier,
      tierState,
      slot: -1,
      holders: new Set(),
      subscription: undefined,
    };
    // Subscribe before registering: if symbolTicks$ throws, no half-made pipeline is left behind.
    pipeline.subscription = this.connect(pipeline);
    if (byTier === undefined) {
      byTier = new Map();
      this.pipelines.set(symbol, byTier);
    }
    byTier.set(tier, pipeline);
    this.livePipelines++;
    // Claimed only once the pipeline exists (a throw above leaves the tier's slots as they were).
    pipeline.slot = tierState.freeSlots.pop() ?? tierState.slotLimit++;
    this.hold(pipeline, clientId);
  }

  /** Subscribes a pipeline's conflation to its symbol's ticks on its tier's clock. */
  private connect(pipeline: Pipeline): Subscription {
    const { symbol, tier, tierState } = pipeline;
    return this.state
      .symbolTicks$(symbol)
      .pipe(conflate(tier, tierState.clock.ticks$, this.scheduler))
      .subscribe({
        next: (update) => this.deliver(pipeline, update),
        error: (err: unknown) => {
          // The feed never errors by contract. If it does, the record stays so
          // ref counts remain right; the pair recovers once every holder left.
          this.logger.error(
            `pipeline ${symbol}@${tier}ms failed; no more updates until it is re-created`,
            err instanceof Error ? err.stack : String(err),
          );
          pipeline.subscription = undefined;
        },
      });
  }

  /** Adds a client to a pipeline's holders and the pipeline to the client's tier holding. */
  private hold(pipeline: Pipeline, clientId: string): void {
    const { holdings } = pipeline.tierState;
    let holding = holdings.get(clientId);
    if (holding === undefined) {
      holding = { clientId, pipelines: [] };
      holdings.set(clientId, holding);
    }
    if (pipeline.holders.has(holding)) return;
    pipeline.holders.add(holding);
    holding.pipelines.push(pipeline);
  }

  private tierState(tier: IntervalTierMs): TierState {
    let state = this.tiers.get(tier);
    if (state === undefined) {
      const created: TierState = {
        clock: new TierClock(tier / this.framesPerWindow, this.scheduler),
        batch: [],
        holdings: new Map(),
        slotLimit: 0,
        freeSlots: [],
      };
      created.clock.onAfterTick = () => this.flush(tier, created);
      this.tiers.set(tier, created);
      state = created;
    }
    return state;
  }

  /**
   * Hands a tier tick's updates to the sink in one call, after the
   * clock reached every pipeline of the tier. A fresh array per window (not a
   * reused one): the sink may keep what it was given.
   */
  private flush(tier: IntervalTierMs, tierState: TierState): void {
    const batch = tierState.batch;
    if (batch.length === 0) return;
    tierState.batch = [];
    const sink = this.sink;
    if (sink === undefined) return;
    try {
      sink.publishBatch(tier, batch);
      this.published += batch.length;
    } catch (err) {
      this.sinkFailed(`tier ${tier}ms batch of ${batch.length}`, err);
    }
  }

  private release(clientId: string, symbol: string, tier: IntervalTierMs): void {
    const byTier = this.pipelines.get(symbol);
    const pipeline = byTier?.get(tier);
    if (byTier === undefined || pipeline === undefined) return;
    const { holdings, freeSlots } = pipeline.tierState;
    const holding = holdings.get(clientId);
    if (holding !== undefined) {
      pipeline.holders.delete(holding);
      const at = holding.pipelines.indexOf(pipeline);
      if (at >= 0) holding.pipelines.splice(at, 1);
      if (holding.pipelines.length === 0) holdings.delete(clientId);
    }
    if (pipeline.holders.size > 0) return;
    pipeline.subscription?.unsubscribe();
    byTier.delete(tier);
    if (byTier.size === 0) this.pipelines.delete(symbol);
    this.livePipelines--;
    // Safe to reuse at once: the fan-out checks a slot's owner before using its text.
    freeSlots.push(pipeline.slot);
  }

  /**
   * Builds the quote once and hands it to the sink. Building happens here, not
   * in a `map` upstream, so that a throw (sink or builder) is contained to this
   * one update instead of terminating the shared pipeline.
   */
  private deliver(pipeline: Pipeline, update: Conflated): void {
    this.absorbed += update.win.n - 1;
    const sink = this.sink;
    if (sink === undefined) return;
    // symbolTicks$ emits after the session is updated, so this is always set for a live symbol.
    const session = this.state.session(pipeline.symbol);
    if (session === undefined) return;
    try {
      // It goes out with the rest of the tier's tick, once the clock reached every pipeline.
      pipeline.tierState.batch.push({
        symbol: pipeline.symbol,
        quote: buildQuote(update.last, session, update.win),
      });
    } catch (err) {
      this.sinkFailed(`${pipeline.symbol}@${pipeline.tier}ms`, err);
    }
  }

  private sinkFailed(what: string, err: unknown): void {
    this.sinkFailures++;
    this.errorLog.report(`delivering ${what} failed`, err, this.scheduler.now());
  }
}
