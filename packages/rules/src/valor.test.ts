import { describe, expect, it } from 'vitest';
import { centsToValor, parseValor, subtractValor, valorToCents } from './valor.ts';

function ok(raw: string): string {
  const r = parseValor(raw);
  if (!r.ok) throw new Error(`expected ${raw} to parse: ${r.reason}`);
  return r.value;
}

describe('parseValor (RULES §3)', () => {
  it.each([
    ['1234.56', '1234.56'],
    ['1234,56', '1234.56'],
    ['1.234,56', '1234.56'],
    ['1,234.56', '1234.56'],
    ['1.234', '1.23'], // one kind once: decimal separator (1.234 rounds to 1.23)
    ['1,5', '1.50'],
    ['1.234.567', '1234567.00'], // one kind repeated: grouping
    ['1,234,567', '1234567.00'],
    ['1.234.567,89', '1234567.89'],
    ['1,234,567.89', '1234567.89'],
    ['-10,5', '-10.50'],
    ['-1.234,56', '-1234.56'],
    ['0', '0.00'],
    ['007.10', '7.10'],
    ['-0.00', '0.00'],
    ['-0.004', '0.00'],
    ['9999999999999999.99', '9999999999999999.99'],
  ])('%s → %s', (raw, expected) => {
    expect(ok(raw)).toBe(expected);
  });

  it.each([
    ['10.005', '10.00'],
    ['10.015', '10.02'],
    ['10.025', '10.02'],
    ['10.035', '10.04'],
    ['10.0251', '10.03'],
    ['10.0249', '10.02'],
    ['-10.025', '-10.02'],
    ['-10.015', '-10.02'],
    ['0.995', '1.00'],
    ['9.995', '10.00'],
    ['99.999', '100.00'],
    ['1.234,565', '1234.56'],
    ['1.234,575', '1234.58'],
  ])('rounds half-to-even: %s → %s', (raw, expected) => {
    expect(ok(raw)).toBe(expected);
  });

  it.each([
    [''],
    ['-'],
    ['abc'],
    ['12a'],
    ['1 234,56'],
    ['+10'],
    ['1e5'],
    ['R$ 10'],
    ['--1'],
    ['.'],
    ['.5'],
    ['5.'],
    ['1..5'],
    ['1.,5'],
    ['-.5'],
    ['10000000000000000.00'],
  ])('rejects %j', (raw) => {
    expect(parseValor(raw).ok).toBe(false);
  });

  it('says why it rejects', () => {
    expect(parseValor('12a')).toEqual({ ok: false, reason: 'caractere inesperado "a"' });
    expect(parseValor('1..5')).toEqual({ ok: false, reason: 'separador "." mal posicionado' });
  });

  it('does exact arithmetic on cents', () => {
    expect(valorToCents('-1234.56')).toBe(-123456n);
    expect(centsToValor(-5n)).toBe('-0.05');
    expect(centsToValor(123456n)).toBe('1234.56');
    expect(subtractValor('3172.76', '3180.00')).toBe('-7.24');
    expect(subtractValor('9999999999999999.99', '-9999999999999999.99')).toBe('19999999999999999.98');
    expect(subtractValor('0.10', '0.20')).toBe('-0.10');
  });
});
