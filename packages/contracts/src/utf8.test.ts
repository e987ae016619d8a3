import { describe, expect, it } from 'vitest';
import { compareUtf8, sameBytes, writeUtf8 } from './utf8.ts';

describe('writeUtf8', () => {
  const cases = [
    '',
    'ORD-000123',
    'João Conceição',
    'ação ✓ 日本',
    '💶 emoji pair',
    'lone \ud800 high',
    'lone \udc00 low',
    'ends high \ud83d',
    'x'.repeat(23),
    `${'é'.repeat(30)} long enough for the native path`,
  ];
  it.each(cases)('writes %j as Buffer.from does (lone surrogates as U+FFFD)', (s) => {
    const bytes = Buffer.alloc(s.length * 3 + 2, 0xaa);
    const end = writeUtf8(bytes, 1, s);
    const expected = Buffer.from(s, 'utf8');
    expect(end).toBe(1 + expected.length);
    expect(bytes.subarray(1, end).equals(expected)).toBe(true);
    expect(bytes[0]).toBe(0xaa);
    expect(bytes[end]).toBe(0xaa);
  });
});

describe('compareUtf8', () => {
  const sign = (n: number) => Math.sign(n);
  const compare = (x: string, y: string) => {
    // Each string inside a larger buffer, at different offsets.
    const a = Buffer.concat([Buffer.from('<<'), Buffer.from(x), Buffer.from('>')]);
    const b = Buffer.concat([Buffer.from('['), Buffer.from(y), Buffer.from(']]]')]);
    return sign(compareUtf8(a, 2, a.length - 1, b, 1, b.length - 3));
  };
  const expected = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

  it('orders as JavaScript strings do where UTF-8 bytes would not (U+E000–U+FFFF against pairs)', () => {
    // UTF-8 puts 🙂 (F0 9F 99 82) after U+FF01 (EF BC 81); UTF-16 puts its pair (D83D DE42) first.
    expect(Buffer.compare(Buffer.from('\u{1F642}'), Buffer.from('\uFF01'))).toBe(1);
    expect(compare('\u{1F642}', '\uFF01')).toBe(-1);
    expect(compare('a\uE000', 'a\u{10000}')).toBe(1);
    expect(compare('\uD7FF', '\u{10000}')).toBe(-1);
    expect(compare('ab', 'a')).toBe(1);
    expect(compare('', '')).toBe(0);
  });

  it('agrees with the string comparison on random text of every UTF-8 length', () => {
    let seed = 7;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    // Few characters from each range, so that strings share prefixes and differ inside characters.
    const chars = [
      'a',
      'b',
      'é',
      'è',
      'ß',
      '中',
      '日',
      '\uE000',
      '\uFFEE',
      '\uFF01',
      '😀',
      '🙂',
      '\u{10000}',
      '\uD7FF',
    ];
    const text = () =>
      Array.from({ length: Math.floor(random() * 5) }, () => chars[Math.floor(random() * chars.length)]).join(
        '',
      );
    for (let k = 0; k < 5000; k++) {
      const x = text();
      const y = random() < 0.3 ? x + text() : text();
      expect([x, y, compare(x, y)]).toEqual([x, y, expected(x, y)]);
      expect(compare(y, x)).toBe(expected(y, x));
    }
  });
});

describe('sameBytes', () => {
  it('is true only for ranges of the same length and the same bytes, wherever they lie', () => {
    const a = Buffer.from('xxORD-1éyy');
    const b = Buffer.from('ORD-1é|ORD-1è|ORD-1');
    const end = Buffer.byteLength('ORD-1é');
    expect(sameBytes(a, 2, 2 + end, b, 0, end)).toBe(true);
    expect(sameBytes(a, 2, 2 + end, b, end + 1, 2 * end + 1)).toBe(false); // é and è share a lead byte
    expect(sameBytes(a, 2, 7, b, 2 * end + 2, b.length)).toBe(true);
    expect(sameBytes(a, 2, 2 + end, b, 2 * end + 2, b.length)).toBe(false); // a prefix of it
    expect(sameBytes(a, 0, 0, b, 3, 3)).toBe(true);
  });
});
