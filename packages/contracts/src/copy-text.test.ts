import { describe, expect, it } from 'vitest';
import { CopyTextParser, escapeCopyText, unescapeCopyText } from './copy-text.ts';

function parseChunks(chunks: Uint8Array[], columns = 2): (string | null)[][] {
  const parser = new CopyTextParser(columns);
  const rows: (string | null)[][] = [];
  for (const chunk of chunks) parser.push(chunk, rows);
  parser.end();
  return rows;
}

/** Every way of cutting `bytes` in two. */
function everySplit(bytes: Uint8Array): Uint8Array[][] {
  const cuts: Uint8Array[][] = [];
  for (let i = 0; i <= bytes.length; i++) cuts.push([bytes.subarray(0, i), bytes.subarray(i)]);
  return cuts;
}

describe('escapeCopyText', () => {
  it('escapes backslash, tab, newline and carriage return, and nothing else', () => {
    expect(escapeCopyText('plain São Paulo')).toBe('plain São Paulo');
    expect(escapeCopyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(escapeCopyText('\\N')).toBe('\\\\N');
    expect(escapeCopyText('\\.')).toBe('\\\\.');
  });

  it('is undone by unescapeCopyText', () => {
    for (const value of ['a\\b\tc\nd\re', '\\', '\\\\N', 'ção\t\\x41']) {
      expect(unescapeCopyText(escapeCopyText(value))).toBe(value);
    }
  });
});

describe('unescapeCopyText', () => {
  it('handles the single-letter escapes and escaped ordinary characters', () => {
    expect(unescapeCopyText('\\b\\f\\n\\r\\t\\v\\\\')).toBe('\b\f\n\r\t\v\\');
    expect(unescapeCopyText('a\\.b\\Nc\\q')).toBe('a.bNcq');
  });

  it('decodes octal and hex escapes as UTF-8 bytes', () => {
    expect(unescapeCopyText('\\101\\x42\\x4a')).toBe('ABJ');
    expect(unescapeCopyText('\\7x\\01y\\1234')).toBe('\x07x\x01yS4');
    expect(unescapeCopyText('\\xfz')).toBe('\x0fz');
    // "ã" is C3 A3 in UTF-8; the bytes may also mix octal and hex.
    expect(unescapeCopyText('S\\xc3\\xa3o')).toBe('São');
    expect(unescapeCopyText('S\\303\\243o')).toBe('São');
    expect(unescapeCopyText('\\xc3\\243')).toBe('ã');
  });

  it('keeps a \\x without hex digits as x', () => {
    expect(unescapeCopyText('\\xg')).toBe('xg');
  });
});

describe('CopyTextParser', () => {
  it('splits rows and fields, turns \\N into null and unescapes only fields with a backslash', () => {
    const text = 'a\tb\n\\N\tx\\ty\n\t\n';
    expect(parseChunks([Buffer.from(text)])).toEqual([
      ['a', 'b'],
      [null, 'x\ty'],
      ['', ''],
    ]);
  });

  it('gives the same rows wherever the chunks are cut, even inside a multi-byte character', () => {
    const text = 'São\tçã€😀\n\\\\N\t\\N\nÉ\tfim\n';
    const bytes = Buffer.from(text);
    const expected = [
      ['São', 'çã€😀'],
      ['\\N', null],
      ['É', 'fim'],
    ];
    for (const chunks of everySplit(bytes)) expect(parseChunks(chunks)).toEqual(expected);
    // One byte at a time.
    expect(parseChunks([...bytes].map((b) => Uint8Array.of(b)))).toEqual(expected);
  });

  it('fails on a row with the wrong number of fields or a truncated last row', () => {
    expect(() => parseChunks([Buffer.from('a\tb\tc\n')])).toThrow(/3 fields, expected 2/);
    expect(() => parseChunks([Buffer.from('a\tb\nc\td')])).toThrow(/ended inside a row/);
  });
});
