/** One thing wrong with a replay file: at a line (1-based), or about the whole file. */
export interface ReplayProblem {
  line?: number;
  message: string;
}

/**
 * A replay file that cannot be replayed: missing, of an unknown format, with
 * malformed rows or rows going back in time. Its message lists each problem as
 * `file:line: what is wrong`, for the operator.
 */
export class ReplayFileError extends Error {
  constructor(
    /** The path as configured (REPLAY_FILE), which is how the operator knows it. */
    readonly file: string,
    readonly problems: readonly ReplayProblem[],
    /** True when the scan stopped at the last problem listed: the rest of the file is unchecked. */
    readonly truncated = false,
  ) {
    const lines = problems.map(
      (p) => `${file}${p.line === undefined ? '' : `:${p.line}`}: ${p.message}`,
    );
    if (truncated) lines.push(`(stopped after ${problems.length} problems; the rest is unchecked)`);
    super(
      lines.length === 1
        ? `Cannot replay REPLAY_FILE: ${lines[0]}`
        : `Cannot replay REPLAY_FILE:\n  - ${lines.join('\n  - ')}`,
    );
    this.name = 'ReplayFileError';
    // The operator needs the file and line, not our call stack: Nest prints an
    // error thrown at boot with its stack, and this one says all there is.
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** A bad row, thrown by a format's parser; the reader adds the file and the line. */
export class RowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowError';
  }
}

/** At most `max` characters of `text`, quoted, for a message about a bad field. */
export function quoteField(text: string, max = 40): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
