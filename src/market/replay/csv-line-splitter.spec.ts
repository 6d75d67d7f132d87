import { describe, expect, it } from 'vitest';
import { CsvLineSplitter } from './csv-line-splitter.js';

/** Pushes `text` in chunks of `size` characters; returns the records with their line and end()'s answer. */
function split(text: string, size = text.length || 1) {
  const records: [string, number][] = [];
  const splitter = new CsvLineSplitter((record, line) => records.push([record, line]));
  for (let i = 0; i < text.length; i += size) splitter.push(text.slice(i, i + size));
  return { records, open: splitter.end(), lines: splitter.linesRead };
}

describe(CsvLineSplitter.name, () => {
  it('splits LF and CRLF lines, numbering them and skipping blank ones', () => {
    expect(split('a,b\r\nc,d\n\r\n\ne,f').records).toEqual([
      ['a,b', 1],
      ['c,d', 2],
      ['e,f', 5],
    ]);
  });

  it('gives the same records whatever the chunk boundaries (a CRLF cut in two included)', () => {
    const text = '\uFEFFts,symbol\r\n1,"A\r\nB"\r\n2,"x,""y"""\r\n3,C';
    const whole = split(text);
    expect(whole.records).toEqual([
      ['ts,symbol', 1],
      ['1,"A\nB"', 2],
      ['2,"x,""y"""', 4],
      ['3,C', 5],
    ]);
    for (let size = 1; size < text.length; size++) expect(split(text, size)).toEqual(whole);
  });

  it('keeps a quoted field open across lines and reports where one never closes', () => {
    const { records, open } = split('a,b\nc,"never\nclosed\n');
    expect(records).toEqual([['a,b', 1]]);
    expect(open).toBe(2);
    expect(split('a\n').open).toBeUndefined();
  });

  it('drops the byte-order mark only at the start', () => {
    expect(split('\uFEFFa\n\uFEFFb\n', 1).records).toEqual([
      ['a', 1],
      ['\uFEFFb', 2],
    ]);
  });
});
