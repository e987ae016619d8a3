import { describe, expect, it } from 'vitest';
import { scanRecordBoundaries, scanRecords } from './csv.ts';

function collect(text: string, firstLine = 2, final = true) {
  const out: { fields: string[]; linha: number; raw: string }[] = [];
  const result = scanRecords(text, firstLine, final, (fields, linha, raw) =>
    out.push({ fields, linha, raw }),
  );
  return { out, result };
}

describe('scanRecords (RULES §2)', () => {
  it('splits on ; and numbers physical lines, counting blank lines but not as records', () => {
    const { out, result } = collect('a;b\n\n  \t\nc;d\n');
    expect(out).toEqual([
      { fields: ['a', 'b'], linha: 2, raw: 'a;b' },
      { fields: ['c', 'd'], linha: 5, raw: 'c;d' },
    ]);
    expect(result).toEqual({ end: 13, lines: 4, records: 2 });
  });

  it('accepts CRLF and LF alike', () => {
    const { out } = collect('a;b\r\nc;d\ne;f\r\n');
    expect(out.map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ]);
    expect(out[0]!.raw).toBe('a;b');
  });

  it('reads RFC 4180 quotes: separator inside, doubled quote, blanks around', () => {
    const { out } = collect('1;"Silva; Jr";"diz ""oi""";  "x"  ;4\r\n');
    expect(out[0]!.fields).toEqual(['1', 'Silva; Jr', 'diz "oi"', 'x', '4']);
    expect(out[0]!.raw).toBe('1;"Silva; Jr";"diz ""oi""";  "x"  ;4');
  });

  it('keeps a quote inside an unquoted field literally', () => {
    const { out } = collect('ab"c;d\n');
    expect(out[0]!.fields).toEqual(['ab"c', 'd']);
  });

  it('lets a quoted field span lines, numbering the record by the line where it starts', () => {
    const { out, result } = collect('1;"linha\num\r\ndois";3\n4;5;6\n');
    expect(out[0]).toEqual({
      fields: ['1', 'linha\num\r\ndois', '3'],
      linha: 2,
      raw: '1;"linha\num\r\ndois";3',
    });
    expect(out[1]).toEqual({ fields: ['4', '5', '6'], linha: 5, raw: '4;5;6' });
    expect(result.lines).toBe(4);
  });

  it('leaves an unfinished record for the next buffer when not final', () => {
    const text = 'a;b\nc;"open\nstill';
    const { out, result } = collect(text, 2, false);
    expect(out).toHaveLength(1);
    expect(result.end).toBe(4);
    expect(result.lines).toBe(1);
  });

  it('reports where an unterminated quote starts at the end of the file', () => {
    const { result } = collect('a;b\nc;"open\nd;e\n', 2, true);
    expect(result.unterminatedQuoteLine).toBe(3);
  });

  it('accepts a last line without a line break when final', () => {
    const { out } = collect('a;b\nc;d');
    expect(out.map((r) => r.raw)).toEqual(['a;b', 'c;d']);
  });

  it('counts records from the bytes, without splitting them (scanRecordBoundaries)', () => {
    const result = scanRecordBoundaries(Buffer.from('a;b\n\n"x\ny";z\nq\n'), 1, true);
    expect(result).toEqual({ end: 15, lines: 5, records: 3 });
  });
});
