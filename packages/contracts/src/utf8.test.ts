import { describe, expect, it } from 'vitest';
import { writeUtf8 } from './utf8.ts';

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
