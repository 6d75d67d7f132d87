import * as ws from 'ws';
import { describe, expect, it } from 'vitest';
import {
  type FrameSink,
  FrameReader,
  WebSocketProtocolError,
  encodeClientFrame,
} from './lean-websocket.js';

/** The parts of ws's frame codec these tests use (exported by ws, absent from @types/ws). */
interface WsInternals {
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  };
  Receiver: new (options: { isServer: boolean }) => {
    on(event: 'message', listener: (data: Buffer) => void): void;
    write(chunk: Buffer): void;
  };
}
const { Receiver, Sender } = ws as unknown as WsInternals;

/** Server-side frames as the `ws` library writes them (unmasked). */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const [head, body] = Sender.frame(payload, {
    fin,
    opcode,
    mask: false,
    readOnly: true,
    rsv1: false,
  });
  return Buffer.concat(body ? [head, body] : [head]);
}

function collect(): { sink: FrameSink; messages: string[]; pings: string[]; closes: number[] } {
  const messages: string[] = [];
  const pings: string[] = [];
  const closes: number[] = [];
  return {
    messages,
    pings,
    closes,
    sink: {
      message: (buf, start, end) => messages.push(buf.toString('utf8', start, end)),
      ping: (payload) => pings.push(payload.toString()),
      close: (code) => closes.push(code),
    },
  };
}

describe(FrameReader.name, () => {
  const texts = [
    '2',
    'a'.repeat(125),
    'b'.repeat(126),
    'c'.repeat(70_000),
    '42/market,["quotes",[]]',
  ];
  const stream = Buffer.concat([
    ...texts.map((t) => serverFrame(1, Buffer.from(t))),
    serverFrame(9, Buffer.from('hi')),
    serverFrame(8, Buffer.from([0x03, 0xe8])),
  ]);

  it('reads 7-bit, 16-bit and 64-bit lengths, pings and closes from one chunk', () => {
    const c = collect();
    new FrameReader(c.sink).push(stream);
    expect(c.messages).toEqual(texts);
    expect(c.pings).toEqual(['hi']);
    expect(c.closes).toEqual([1000]);
  });

  it('gives the same result however the bytes are split across reads', () => {
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const c = collect();
      const reader = new FrameReader(c.sink);
      // One reused buffer, overwritten after every push, as with net's onread.
      const scratch = Buffer.alloc(size);
      for (let at = 0; at < stream.length; at += size) {
        const n = stream.copy(scratch, 0, at, Math.min(at + size, stream.length));
        reader.push(scratch, 0, n);
        scratch.fill(0xff);
      }
      expect(c.messages).toEqual(texts);
      expect(c.closes).toEqual([1000]);
    }
  });

  it('joins fragmented messages and refuses broken framing', () => {
    const c = collect();
    const reader = new FrameReader(c.sink);
    reader.push(serverFrame(1, Buffer.from('hel'), false));
    reader.push(serverFrame(9, Buffer.from('p'))); // control frames may interleave
    reader.push(serverFrame(0, Buffer.from('lo')));
    expect(c.messages).toEqual(['hello']);
    expect(c.pings).toEqual(['p']);
    expect(() => reader.push(serverFrame(0, Buffer.from('x')))).toThrow(WebSocketProtocolError);
  });
});

describe(encodeClientFrame.name, () => {
  it('writes masked frames the ws server parser accepts', async () => {
    const receiver = new Receiver({ isServer: true });
    const got: string[] = [];
    receiver.on('message', (data: Buffer) => got.push(data.toString()));
    const payloads = ['40/market,', 'x'.repeat(300), 'y'.repeat(70_000)];
    for (const p of payloads) receiver.write(encodeClientFrame(1, Buffer.from(p)));
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual(payloads);
  });
});
