/** Receives one CSV record (its text without the line ending) and the line it starts on. */
export type CsvRecordSink = (record: string, line: number) => void;

const QUOTE = '"';
const CR = 13;

/**
 * Splits CSV text, pushed in chunks of any size, into records: lines ending in
 * LF or CRLF, except that a quoted field may hold line breaks (the record then
 * spans lines and is reported at the line it starts on). Blank lines are
 * skipped, a leading byte-order mark is dropped. Keeps only the unfinished
 * tail of the last chunk, so a file of any size streams through.
 */
export class CsvLineSplitter {
  private pending = '';
  /** Lines seen so far (the next record starts on line `lines + 1`). */
  private lines = 0;
  /** The lines of a record whose quoted field is still open, joined by LF. */
  private open: string | undefined;
  private openLine = 0;
  private first = true;

  constructor(private readonly sink: CsvRecordSink) {}

  /** Lines read so far. */
  get linesRead(): number {
    return this.lines;
  }

  /** Splits `chunk` (continuing the previous one) and passes each complete record on. */
  push(chunk: string): void {
    let text = this.pending.length > 0 ? this.pending + chunk : chunk;
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    for (;;) {
      const lf = text.indexOf('\n', start);
      if (lf < 0) break;
      const end = lf > start && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
      this.line(text.slice(start, end));
      start = lf + 1;
    }
    this.pending = start === 0 ? text : text.slice(start);
  }

  /**
   * Ends the input: passes on a last line without a line ending. Returns the
   * line of a record whose quoted field never closed (the file is cut off or
   * malformed), else undefined.
   */
  end(): number | undefined {
    if (this.pending.length > 0) {
      const text = this.pending;
      this.pending = '';
      this.line(text.charCodeAt(text.length - 1) === CR ? text.slice(0, -1) : text);
    }
    return this.open === undefined ? undefined : this.openLine;
  }

  private line(text: string): void {
    this.lines++;
    if (this.open !== undefined) {
      this.open += `\n${text}`;
      if (countQuotes(text) % 2 === 1) {
        const record = this.open;
        this.open = undefined;
        this.sink(record, this.openLine);
      }
      return;
    }
    if (text.length === 0) return;
    // Fast path: no quote, no field can span lines.
    if (text.indexOf(QUOTE) >= 0 && countQuotes(text) % 2 === 1) {
      this.open = text;
      this.openLine = this.lines;
      return;
    }
    this.sink(text, this.lines);
  }
}

function countQuotes(text: string): number {
  let count = 0;
  for (let i = text.indexOf(QUOTE); i >= 0; i = text.indexOf(QUOTE, i + 1)) count++;
  return count;
}
