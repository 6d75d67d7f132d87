import * as v from 'valibot';
import {
  describeIssue,
  isPlainObject,
  REQUEST_SHAPES,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  UNTRUSTED_INPUT,
} from '../shared/protocol.schema.js';
import { BadRequestException } from './wire-errors.js';

export { MAX_SYMBOLS_PER_REQUEST } from '../shared/protocol.schema.js';

/** A subscribe as the control session acts on it: symbols upper-case and de-duplicated. */
export type ParsedSubscribe = v.InferOutput<typeof SubscribeRequestSchema>;
export type ParsedUnsubscribe = v.InferOutput<typeof UnsubscribeRequestSchema>;

/**
 * Checks an untrusted payload against a request schema. It must be a plain
 * object (valibot's `object` would take an array or a Date); the first issue
 * becomes the BAD_REQUEST message, which names the field but never quotes the
 * client's value.
 */
function parseRequest<
  TSchema extends typeof SubscribeRequestSchema | typeof UnsubscribeRequestSchema,
>(schema: TSchema, body: unknown, notAnObject: string): v.InferOutput<TSchema> {
  if (!isPlainObject(body)) throw new BadRequestException(notAnObject);
  const result = v.safeParse(schema, body, UNTRUSTED_INPUT);
  if (!result.success) throw new BadRequestException(describeIssue(result.issues[0]));
  return result.output;
}

/** Parses an untrusted `subscribe` payload; symbols come back upper-case and de-duplicated. */
export function parseSubscribeRequest(body: unknown): ParsedSubscribe {
  return parseRequest(SubscribeRequestSchema, body, REQUEST_SHAPES.subscribe);
}

/** Parses an untrusted `unsubscribe` payload. */
export function parseUnsubscribeRequest(body: unknown): ParsedUnsubscribe {
  return parseRequest(UnsubscribeRequestSchema, body, REQUEST_SHAPES.unsubscribe);
}
