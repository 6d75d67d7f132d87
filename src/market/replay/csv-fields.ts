import { RowError } from './replay-file.error.js';

/**
 * The fields of one CSV record (RFC 4180): separated by commas; a field in
 * double quotes may hold commas, line breaks and doubled quotes (`""` is one
 * `"`). A record without quotes takes the fast path (`split`), which is most
 * rows of most files. Throws {@link RowError} for text after a closing quote
 * or a quote that never closes.
 */
export function splitCsvFields(record: string): string[] {
  if (record.indexOf('"') < 0) return splitPlain(record);
  const fields: string[] = [];
  let i = 0;
  const n = record.length;
  for (;;) {
    if (record.charCodeAt(i) === 34 /* " */) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const quote = record.indexOf('"', from);
        if (quote < 0) throw new RowError(`field ${fields.length + 1}: the quote is never closed`);
        value += record.slice(from, quote);
        if (record.charCodeAt(quote + 1) === 34) {
          value += '"';
          from = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      fields.push(value);
      if (i === n) return fields;
      if (record.charCodeAt(i) !== 44 /* , */) {
        throw new RowError(`field ${fields.length}: text after the closing quote`);
      }
      i++;
    } else {
      const comma = record.indexOf(',', i);
      if (comma < 0) {
        fields.push(record.slice(i));
        return fields;
      }
      fields.push(record.slice(i, comma));
      i = comma + 1;
    }
    if (i === n) {
      fields.push('');
      return fields;
    }
  }
}

function splitPlain(record: string): string[] {
  const fields: string[] = [];
  let from = 0;
  for (;;) {
    const comma = record.indexOf(',', from);
    if (comma < 0) {
      fields.push(from === 0 ? record : record.slice(from));
      return fields;
    }
    fields.push(record.slice(from, comma));
    from = comma + 1;
  }
}
