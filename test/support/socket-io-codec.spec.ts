import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import {
  decodeEioPacket,
  decodeSioFrame,
  decodeSioPacket,
  EIO,
  encodeEvent,
  encodeSioFrame,
  encodeSioPacket,
  FrameError,
  SIO,
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
          type: packet.type,
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
    expect(decodeSioPacket('0/market,')).toEqual({ type: SIO.CONNECT, nsp: '/market' });
  });

  it('frames a subscribe that socket.io-parser reads back', () => {
    const frame = encodeSioFrame({
      type: SIO.EVENT,
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

  it('rejects frames it cannot read', () => {
    expect(() => decodeEioPacket('9')).toThrow(FrameError);
    expect(() => decodeEioPacket('')).toThrow(FrameError);
    expect(() => decodeSioPacket('7/market,')).toThrow(FrameError);
    expect(() => decodeSioPacket('2/market,{oops')).toThrow(FrameError);
    expect(decodeSioPacket('3/market,12[]')).toEqual({
      type: SIO.ACK,
      nsp: '/market',
      id: 12,
      data: [],
    });
    expect(decodeSioPacket('4{"message":"no"}').type).toBe(SIO.CONNECT_ERROR);
    expect(() => decodeSioPacket('51-/market,9["x",{"_placeholder":true,"num":0}]')).toThrow(
      FrameError,
    );
    expect(() => decodeSioPacket(' ')).toThrow(FrameError);
  });

  it('encodes events as the raw-socket tests send them', () => {
    expect(encodeEvent('subscribe', [{ symbols: ['AAPL'] }], 7)).toBe(
      `4${referenceEncode({ type: PacketType.EVENT, nsp: '/market', id: 7, data: ['subscribe', { symbols: ['AAPL'] }] })}`,
    );
    expect(encodeEvent('ping', [], undefined, '/')).toBe('42["ping"]');
  });

  describe('lenient decoding', () => {
    it('keeps a payload that is not JSON whole, without guessing an ack id', () => {
      // Socket.IO writes an ack id it parsed with Number() back as `1e+23`.
      expect(decodeSioPacket('3/market,1e+23[{"ok":true}]', { lenient: true })).toEqual({
        type: SIO.ACK,
        nsp: '/market',
        unparsed: '1e+23[{"ok":true}]',
      });
      expect(decodeSioPacket('3/market,12[]', { lenient: true })).toEqual(
        decodeSioPacket('3/market,12[]'),
      );
    });

    it('decodes the header of binary packets as socket.io-parser encodes it', () => {
      // The encoder turns an EVENT with binary arguments into a BINARY_EVENT.
      const packet: Packet = {
        type: PacketType.EVENT,
        nsp: '/market',
        id: 9,
        data: ['subscribe', Buffer.from('x')],
      };
      const [header] = new Encoder().encode(packet) as [string, Buffer];
      expect(decodeSioPacket(header, { lenient: true })).toEqual({
        type: SIO.BINARY_EVENT,
        nsp: '/market',
        id: 9,
        attachments: 1,
        data: ['subscribe', { _placeholder: true, num: 0 }],
      });
      expect(
        encodeSioPacket({
          type: SIO.BINARY_EVENT,
          nsp: '/market',
          id: 9,
          attachments: 1,
          data: ['subscribe', { _placeholder: true, num: 0 }],
        }),
      ).toBe(header);
    });

    it('decodes whole frames, and nothing but Socket.IO messages', () => {
      expect(decodeSioFrame(encodeEvent('quotes', [[]]))).toEqual({
        type: SIO.EVENT,
        nsp: '/market',
        data: ['quotes', []],
      });
      expect(decodeSioFrame(`${EIO.MESSAGE}${SIO.DISCONNECT}/market,`)).toEqual({
        type: SIO.DISCONNECT,
        nsp: '/market',
      });
      expect(decodeSioFrame(EIO.PING)).toBeUndefined();
      expect(decodeSioFrame(`${EIO.OPEN}{"sid":"x"}`)).toBeUndefined();
      expect(decodeSioFrame(EIO.MESSAGE)).toBeUndefined();
      expect(decodeSioFrame(`${EIO.MESSAGE}9`)).toBeUndefined();
      expect(decodeSioFrame(Buffer.from('42["x"]'))).toBeUndefined();
    });
  });
});
