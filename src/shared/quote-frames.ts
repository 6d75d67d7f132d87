/**
 * The Socket.IO `quotes` frame, written by hand. The server serialises each
 * quote once per tier and splices the same text into every subscriber's frame
 * instead of letting socket.io-parser stringify one batch per client. No Nest,
 * Node or DOM imports.
 */
import { MARKET_NAMESPACE } from './protocol.js';

/**
 * Everything a quotes frame carries before its first quote: `4` (Engine.IO
 * message), `2` (Socket.IO EVENT), the namespace and `,` (socket.io-parser
 * writes a non-root namespace that way), then the event array up to the batch.
 * No ack id: quotes are never acknowledged.
 */
export const SOCKET_IO_QUOTES_PREFIX = `42${MARKET_NAMESPACE},["quotes",[`;

/**
 * The whole Engine.IO message of a `quotes` event carrying `pieces`, each a
 * quote already serialised with `JSON.stringify`, in order.
 */
export function encodeSocketIoQuotesFrame(pieces: readonly string[]): string {
  return `${SOCKET_IO_QUOTES_PREFIX}${pieces.join(',')}]]`;
}
