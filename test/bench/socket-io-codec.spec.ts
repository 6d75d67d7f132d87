import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import {
  FrameError,
  SIO_ACK,
  SIO_CONNECT,
  SIO_CONNECT_ERROR,
  SIO_EVENT,
  buildQuotesFrame,
  decodeEioPacket,
  decodeSioPacket,
  encodeSioFrame,
  encodeSioPacket,
  quotesBatchJson,
  quotesFramePrefix,
} from './socket-io-codec.js';

/** socket.io-parser, the reference implementation the real server and client use. */
function referenceEncode(packet: Packet): string {
  const [encoded] = new Encoder().encode(packet) as string[];
  return encoded;
}

function referenceDecode(text: string): Packet {
  const decoder = new Decoder();
  let out: Packet | undefined;
  decoder.on('decoded', (p: Packet) => (out = p));
  decoder.add(text);
  return out!;
}

describe('socket-io-codec', () => {
  it('encodes packets exactly as socket.io-parser does', () => {
    const cases: Packet[] = [
      { type: PacketType.CONNECT, nsp: '/market' },
      { type: PacketType.CONNECT, nsp: '/market', data: { sid: 'abc' } },
      {
        type: PacketType.EVENT,
        nsp: '/market',
        id: 7,
        data: ['subscribe', { symbols: ['AAPL'], intervalMs: 250 }],
      },
      { type: PacketType.EVENT, nsp: '/', data: ['quotes', [{ symbol: 'X', seq: 1 }]] },
      { type: PacketType.ACK, nsp: '/market', id: 12, data: [{ ok: true }] },
    ];
    for (const packet of cases) {
      expect(
        encodeSioPacket({
          type: packet.type as 0,
          nsp: packet.nsp,
          id: packet.id,
          data: packet.data as unknown,
        }),
      ).toBe(referenceEncode(packet));
    }
  });

  it('decodes what socket.io-parser encodes', () => {
    const packets: Packet[] = [
      { type: PacketType.CONNECT, nsp: '/market', data: { sid: 'x1' } },
      {
        type: PacketType.ACK,
        nsp: '/market',
        id: 1,
        data: [{ ok: true, intervalMs: 250, snapshot: [], rejected: [] }],
      },
      { type: PacketType.CONNECT_ERROR, nsp: '/market', data: { message: 'Invalid namespace' } },
      { type: PacketType.EVENT, nsp: '/', id: 345, data: ['ping', 'a,b'] },
    ];
    for (const packet of packets) {
      const decoded = decodeSioPacket(referenceEncode(packet));
      expect(decoded).toEqual({
        type: packet.type,
        nsp: packet.nsp,
        id: packet.id,
        data: packet.data as unknown,
      });
    }
    expect(decodeSioPacket('0/market,')).toEqual({ type: SIO_CONNECT, nsp: '/market' });
  });

  it('frames a subscribe that socket.io-parser reads back', () => {
    const frame = encodeSioFrame({
      type: SIO_EVENT,
      nsp: '/market',
      id: 1,
      data: ['subscribe', { symbols: ['MSFT', 'NVDA'], intervalMs: 1000 }],
    });
    expect(decodeEioPacket(frame).type).toBe('4');
    expect(referenceDecode(frame.slice(1))).toMatchObject({
      type: PacketType.EVENT,
      nsp: '/market',
      id: 1,
      data: ['subscribe', { symbols: ['MSFT', 'NVDA'], intervalMs: 1000 }],
    });
  });

  it('builds quotes frames from pre-serialised quotes that socket.io-parser reads as a quotes event', () => {
    const prefix = quotesFramePrefix('/market');
    const quotes = [
      { symbol: 'A', seq: 3, ts: 1 },
      { symbol: 'B', seq: 9, ts: 2 },
    ];
    const frame = buildQuotesFrame(
      prefix,
      quotes.map((q) => JSON.stringify(q)),
    );
    expect(referenceDecode(frame.slice(1))).toMatchObject({
      type: PacketType.EVENT,
      nsp: '/market',
      data: ['quotes', quotes],
    });
    expect(JSON.parse(quotesBatchJson(frame, prefix)!)).toEqual(quotes);
  });

  it('recognises quotes frames the real server emits and nothing else', () => {
    const prefix = quotesFramePrefix('/market');
    const real = `4${referenceEncode({ type: PacketType.EVENT, nsp: '/market', data: ['quotes', [{ symbol: 'Z' }]] })}`;
    expect(quotesBatchJson(real, prefix)).toBe('[{"symbol":"Z"}]');
    const exception = `4${referenceEncode({ type: PacketType.EVENT, nsp: '/market', data: ['exception', { code: 'X' }] })}`;
    expect(quotesBatchJson(exception, prefix)).toBeUndefined();
    const ack = `4${referenceEncode({ type: PacketType.ACK, nsp: '/market', id: 1, data: [{}] })}`;
    expect(quotesBatchJson(ack, prefix)).toBeUndefined();
  });

  it('rejects frames it cannot read', () => {
    expect(() => decodeEioPacket('9')).toThrow(FrameError);
    expect(() => decodeEioPacket('')).toThrow(FrameError);
    expect(() => decodeSioPacket('7/market,')).toThrow(FrameError);
    expect(() => decodeSioPacket('2/market,{oops')).toThrow(FrameError);
    expect(decodeSioPacket('3/market,12[]')).toEqual({
      type: SIO_ACK,
      nsp: '/market',
      id: 12,
      data: [],
    });
    expect(decodeSioPacket('4{"message":"no"}').type).toBe(SIO_CONNECT_ERROR);
  });
});
