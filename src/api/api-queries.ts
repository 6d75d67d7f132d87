import { BadRequestException } from '@nestjs/common';
import * as v from 'valibot';
import { HistoryQuerySchema, QuotesQuerySchema, SymbolParamSchema } from '../shared/api.schema.js';
import { describeIssue, UNTRUSTED_INPUT } from '../shared/protocol.schema.js';

export { DEFAULT_HISTORY_LIMIT, MAX_QUOTE_SYMBOLS } from '../shared/api.schema.js';

/** Parses an untrusted REST input, answering 400 with the first issue (never the value). */
function parseInput<TSchema extends v.GenericSchema>(
  schema: TSchema,
  input: unknown,
): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, input, UNTRUSTED_INPUT);
  if (!result.success) throw new BadRequestException(describeIssue(result.issues[0]));
  return result.output;
}

/** `?symbols=AAPL,msft` as upper-case unique symbols; undefined means all. */
export function parseQuotesQuery(query: unknown): string[] | undefined {
  return parseInput(QuotesQuerySchema, query ?? {}).symbols;
}

/** `:symbol` of `/api/history/:symbol`, upper-cased. */
export function parseSymbolParam(value: string): string {
  return parseInput(SymbolParamSchema, value);
}

/** `?resolution&limit` of `/api/history`, with their defaults. */
export function parseHistoryQuery(query: unknown): v.InferOutput<typeof HistoryQuerySchema> {
  return parseInput(HistoryQuerySchema, query ?? {});
}
