import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { MARKET_NAMESPACE, type Quote } from './protocol.js';
import { encodeSocketIoQuotesFrame, SOCKET_IO_QUOTES_PREFIX } from './quote-frames.js';

/** What the real socket.io-client reads from an Engine.IO message (after its `4`). */
function packetsOf(engineMessage: string): Packet[] {
  expect(engineMessage[0]).toBe('4');
  const packets: Packet[] = [];
  const decoder = new Decoder();
  decoder.on('decoded', (packet: Packet) => packets.push(packet));
  decoder.add(engineMessage.slice(1));
  return packets;
}

function quote(symbol: string, seq: number, price: number): Quote {
  return {
    symbol,
    price,
    bid: price - 0.01,
    ask: price + 0.01,
    ts: 1_700_000_000_000 + seq,
    seq,
    open: 100,
    high: 101.5,
    low: 99.25,
    prevClose: 100,
    change: price - 100,
    changePct: price - 100,
    volume: 1200 * seq,
    win: { o: price, h: price, l: price, v: 0, n: 0 },
  };
}

describe(encodeSocketIoQuotesFrame.name, () => {
  it('decodes with socket.io-parser to a quotes event in /market carrying the quotes', () => {
    const quotes = [quote('AAPL', 1, 189.5), quote('BRK.B', 7, 412.03), quote('V', 3, 0.1 + 0.2)];
    const frame = encodeSocketIoQuotesFrame(quotes.map((q) => JSON.stringify(q)));
    expect(packetsOf(frame)).toEqual([
      { type: PacketType.EVENT, nsp: MARKET_NAMESPACE, data: ['quotes', quotes] },
    ]);
  });

  it('writes exactly what socket.io-parser would, so clients cannot tell the difference', () => {
    const quotes = [quote('MSFT', 2, 410.1), quote('NVDA', 5, 121.77)];
    const [reference] = new Encoder().encode({
      type: PacketType.EVENT,
      nsp: MARKET_NAMESPACE,
      data: ['quotes', quotes],
    }) as string[];
    expect(encodeSocketIoQuotesFrame(quotes.map((q) => JSON.stringify(q)))).toBe(`4${reference}`);
  });

  it('frames a single quote and an empty batch', () => {
    const one = quote('TSLA', 9, 250);
    expect(packetsOf(encodeSocketIoQuotesFrame([JSON.stringify(one)]))[0]?.data).toEqual([
      'quotes',
      [one],
    ]);
    expect(packetsOf(encodeSocketIoQuotesFrame([]))[0]?.data).toEqual(['quotes', []]);
  });

  it('starts every frame with SOCKET_IO_QUOTES_PREFIX', () => {
    expect(encodeSocketIoQuotesFrame(['{}']).startsWith(SOCKET_IO_QUOTES_PREFIX)).toBe(true);
    expect(SOCKET_IO_QUOTES_PREFIX).toBe('42/market,["quotes",[');
  });
});
