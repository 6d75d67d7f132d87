import { Inject, Logger } from '@nestjs/common';
import {
  Ack,
  ConnectedSocket,
  MessageBody,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { MarketStateService } from '../market/market-state.service.js';
import {
  type ClientToServerEvents,
  type IntervalTierMs,
  MARKET_NAMESPACE,
  type Quote,
  type RejectedSymbol,
  type ServerToClientEvents,
  type SubscribeAck,
  type UnsubscribeAck,
  type WireError,
  toIntervalTier,
} from '../shared/protocol.js';
import { type QuoteSink, StreamRegistry } from '../streaming/stream-registry.service.js';
import { parseSubscribeRequest, parseUnsubscribeRequest } from './market-requests.js';
import { toWireError, WireException } from './wire-errors.js';

type MarketNamespace = Namespace<ClientToServerEvents, ServerToClientEvents>;
type MarketSocket = Socket<ClientToServerEvents, ServerToClientEvents>;
type AckFn<T> = ((res: T) => void) | undefined;

/** Room that receives one (symbol, tier) pipeline's updates. */
export function quoteRoom(symbol: string, tier: IntervalTierMs): string {
  return `q:${tier}:${symbol}`;
}

/**
 * The `/market` Socket.IO namespace: control messages go through Nest's
 * handlers; quotes bypass Nest entirely and are broadcast to one room per
 * (symbol, tier), so Socket.IO encodes each update once whatever the audience.
 */
@WebSocketGateway({ namespace: MARKET_NAMESPACE })
export class MarketGateway
  implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, QuoteSink
{
  private readonly logger = new Logger(MarketGateway.name);

  @WebSocketServer()
  private readonly server: MarketNamespace;

  constructor(
    private readonly registry: StreamRegistry,
    private readonly state: MarketStateService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  afterInit(): void {
    this.registry.setSink(this);
  }

  /** Fan-out of one conflated update: one broadcast, encoded once by Socket.IO. */
  publish(symbol: string, tier: IntervalTierMs, quote: Quote): void {
    this.server.to(quoteRoom(symbol, tier)).emit('quotes', [quote]);
  }

  handleConnection(client: MarketSocket): void {
    this.logger.debug(`client ${client.id} connected`);
  }

  handleDisconnect(client: MarketSocket): void {
    const released = this.registry.releaseClient(client.id);
    this.logger.debug(`client ${client.id} disconnected, released ${released.length} symbol(s)`);
  }

  @SubscribeMessage('subscribe')
  handleSubscribe(
    @ConnectedSocket() client: MarketSocket,
    @MessageBody() body: unknown,
    @Ack() ack: AckFn<SubscribeAck>,
  ): void {
    let response: SubscribeAck;
    try {
      response = this.subscribe(client, body);
    } catch (err) {
      response = { ok: false, error: this.reject(client, err) };
    }
    this.reply(ack, response);
  }

  @SubscribeMessage('unsubscribe')
  handleUnsubscribe(
    @ConnectedSocket() client: MarketSocket,
    @MessageBody() body: unknown,
    @Ack() ack: AckFn<UnsubscribeAck>,
  ): void {
    let response: UnsubscribeAck;
    try {
      response = this.unsubscribe(client, body);
    } catch (err) {
      response = { ok: false, error: this.reject(client, err) };
    }
    this.reply(ack, response);
  }

  private subscribe(client: MarketSocket, body: unknown): SubscribeAck {
    const request = parseSubscribeRequest(body);
    const tier = toIntervalTier(request.intervalMs ?? this.config.defaultIntervalMs);
    const held = this.registry.clientSymbols(client.id);
    let count = held.size;
    const rejected: RejectedSymbol[] = [];
    const snapshot: Quote[] = [];

    for (const symbol of request.symbols) {
      if (!this.state.has(symbol)) {
        rejected.push({ symbol, code: 'UNKNOWN_SYMBOL', message: 'unknown symbol' });
        continue;
      }
      if (!held.has(symbol)) {
        if (count >= this.config.maxSymbolsPerClient) {
          rejected.push({
            symbol,
            code: 'LIMIT_EXCEEDED',
            message: `at most ${this.config.maxSymbolsPerClient} symbols per connection`,
          });
          continue;
        }
        count++;
      }
      const { previousTier } = this.registry.subscribe(client.id, symbol, tier);
      if (previousTier !== tier) {
        if (previousTier !== undefined) void client.leave(quoteRoom(symbol, previousTier));
        void client.join(quoteRoom(symbol, tier));
      }
      const quote = this.state.snapshot(symbol);
      if (quote) snapshot.push(quote);
    }
    return { ok: true, intervalMs: tier, snapshot, rejected };
  }

  private unsubscribe(client: MarketSocket, body: unknown): UnsubscribeAck {
    const request = parseUnsubscribeRequest(body);
    const unsubscribed: string[] = [];
    for (const symbol of request.symbols) {
      const tier = this.registry.unsubscribe(client.id, symbol);
      if (tier !== undefined) {
        void client.leave(quoteRoom(symbol, tier));
        unsubscribed.push(symbol);
      }
    }
    return { ok: true, unsubscribed };
  }

  /** Every rejected request also gets an `exception` event, ack or not. */
  private reject(client: MarketSocket, err: unknown): WireError {
    if (!(err instanceof WireException)) {
      this.logger.error(`handler failed for client ${client.id}`, err instanceof Error ? err.stack : err);
    }
    const error = toWireError(err);
    client.emit('exception', error);
    return error;
  }

  private reply<T>(ack: AckFn<T>, response: T): void {
    if (typeof ack === 'function') ack(response);
  }
}
