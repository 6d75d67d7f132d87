import { describe, expect, it } from 'vitest';
import { splitCsvFields } from './csv-fields.js';
import { RowError } from './replay-file.error.js';

describe(splitCsvFields.name, () => {
  it('splits plain fields, keeping empty ones', () => {
    expect(splitCsvFields('1,AAPL,10.5,100,,')).toEqual(['1', 'AAPL', '10.5', '100', '', '']);
    expect(splitCsvFields('')).toEqual(['']);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    expect(splitCsvFields('AAPL,"12,37",0,"say ""hi""","a\nb",')).toEqual([
      'AAPL',
      '12,37',
      '0',
      'say "hi"',
      'a\nb',
      '',
    ]);
    expect(splitCsvFields('"",x,""')).toEqual(['', 'x', '']);
  });

  it('refuses text after a closing quote and a quote that never closes', () => {
    expect(() => splitCsvFields('a,"b"c')).toThrow(
      new RowError('field 2: text after the closing quote'),
    );
    expect(() => splitCsvFields('a,"b')).toThrow(
      new RowError('field 2: the quote is never closed'),
    );
  });
});
