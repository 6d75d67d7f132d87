import * as v from 'valibot';
import { BadRequestException } from '../fanout/wire-errors.js';
import { describeIssue, UNTRUSTED_INPUT } from '../shared/protocol.schema.js';
import type { WsRequestId } from '../shared/ws-protocol.js';
import {
  WS_NOT_AN_OBJECT,
  WsEnvelopeSchema,
  WsRequestIdSchema,
} from '../shared/ws-protocol.schema.js';

/** A decoded `/ws` request: its type, its id if any, and the whole object for the session. */
export type WsInbound =
  | { type: 'subscribe' | 'unsubscribe'; id?: WsRequestId; body: Record<string, unknown> }
  | { type: 'ping'; id?: WsRequestId };

export type WsParsed =
  | { ok: true; value: WsInbound }
  /** Refused; `id` is set when the frame carried a valid one, to answer with. */
  | { ok: false; error: BadRequestException; id?: WsRequestId };

/**
 * Decodes one text frame. Everything a client sends is untrusted: the frame
 * must be a JSON object with a known `type` and, if present, a valid `id`
 * ({@link WsEnvelopeSchema}); the payload's own fields are the control
 * session's to check. Error messages name the field, never the value.
 */
export function parseWsMessage(text: string): WsParsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: new BadRequestException('the frame is not valid JSON') };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: new BadRequestException(WS_NOT_AN_OBJECT) };
  }
  const envelope = v.safeParse(WsEnvelopeSchema, value, UNTRUSTED_INPUT);
  if (!envelope.success) {
    // A refused frame is still answered with its id when that id is valid.
    const id = v.safeParse(WsRequestIdSchema, (value as { id?: unknown }).id);
    return {
      ok: false,
      error: new BadRequestException(describeIssue(envelope.issues[0])),
      ...(id.success ? { id: id.output } : {}),
    };
  }
  const { type, id } = envelope.output;
  if (type === 'ping') return { ok: true, value: { type, id } };
  return { ok: true, value: { type, id, body: value as Record<string, unknown> } };
}
