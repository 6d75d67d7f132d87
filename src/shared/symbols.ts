/**
 * What a ticker symbol may look like, written down once for the gateway, the
 * REST API and the dashboard (which drops a symbol the server would refuse
 * before asking for it). No Nest, Node or DOM imports.
 */

/**
 * Longest symbol accepted. 12 is what the gateway and the REST API have always
 * accepted: room for share classes and exchange suffixes (`BRK.B`, `RDS-A`,
 * `7203.T`) while bounding what a client can make the server look up.
 */
export const MAX_SYMBOL_LENGTH = 12;

/**
 * Letters, digits, '.' and '-', starting with a letter or digit, 1 to
 * {@link MAX_SYMBOL_LENGTH} characters. Input is case-insensitive; symbols on
 * the wire are upper-case (see {@link normalizeSymbol}). Index symbols such as
 * `^GSPC` are not tradable instruments here and do not match.
 */
export const SYMBOL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.-]{0,11}$/;

/** {@link SYMBOL_PATTERN} in words, for error messages (it never quotes the input). */
export const SYMBOL_RULE = `1-${MAX_SYMBOL_LENGTH} letters, digits, '.' or '-'`;

/** Trims, validates and upper-cases a symbol; undefined when the server would refuse it. */
export function normalizeSymbol(input: string): string | undefined {
  const trimmed = input.trim();
  // Validate before upper-casing: Unicode case mapping turns 'ß' into 'SS' and 'ı' into 'I'.
  return SYMBOL_PATTERN.test(trimmed) ? trimmed.toUpperCase() : undefined;
}
