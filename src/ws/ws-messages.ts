import { BadRequestException } from '../gateway/wire-errors.js';
import { isWsRequestId, type WsRequestId } from '../shared/ws-protocol.js';

/** A decoded `/ws` request: its type, its id if any, and the whole object for the session. */
export type WsInbound =
  | { type: 'subscribe' | 'unsubscribe'; id?: WsRequestId; body: Record<string, unknown> }
  | { type: 'ping'; id?: WsRequestId };

export type WsParsed =
  | { ok: true; value: WsInbound }
  /** Refused; `id` is set when the frame carried a valid one, to answer with. */
  | { ok: false; error: BadRequestException; id?: WsRequestId };

const TYPES = new Set(['subscribe', 'unsubscribe', 'ping']);

/**
 * Decodes one text frame. Everything a client sends is untrusted: the frame
 * must be a JSON object with a known `type` and, if present, a valid `id`.
 * Error messages name the field, never the value.
 */
export function parseWsMessage(text: string): WsParsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: new BadRequestException('the frame is not valid JSON') };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      error: new BadRequestException('expected a JSON object with a "type" field'),
    };
  }
  const message = value as Record<string, unknown>;
  const { id, type } = message;
  if (id !== undefined && !isWsRequestId(id)) {
    return {
      ok: false,
      error: new BadRequestException('"id" must be an integer or 1-64 letters, digits, "_" or "-"'),
    };
  }
  if (typeof type !== 'string' || !TYPES.has(type)) {
    return {
      ok: false,
      id,
      error: new BadRequestException('"type" must be "subscribe", "unsubscribe" or "ping"'),
    };
  }
  if (type === 'ping') return { ok: true, value: { type, id } };
  return { ok: true, value: { type: type as 'subscribe' | 'unsubscribe', id, body: message } };
}
