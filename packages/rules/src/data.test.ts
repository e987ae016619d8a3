import { describe, expect, it } from 'vitest';
import { parseData } from './data.ts';

describe('parseData (RULES §2)', () => {
  it.each([
    ['2026-11-21', '2026-11-21'],
    ['21/11/2026', '2026-11-21'],
    ['29/02/2024', '2024-02-29'],
    ['2000-02-29', '2000-02-29'],
    ['31/12/1999', '1999-12-31'],
  ])('%s → %s', (raw, expected) => {
    expect(parseData(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['2026-02-30', 'data inexistente'],
    ['2026-02-29', 'data inexistente'],
    ['1900-02-29', 'data inexistente'],
    ['31/04/2026', 'data inexistente'],
    ['2026-13-01', 'data inexistente'],
    ['2026-00-10', 'data inexistente'],
    ['00/01/2026', 'data inexistente'],
  ])('rejects the impossible date %s', (raw, reason) => {
    expect(parseData(raw)).toEqual({ ok: false, reason });
  });

  it.each([['2026/11/21'], ['21-11-2026'], ['2026-1-5'], ['20261121'], [''], ['2026-11-2x'], ['11/21/26']])(
    'rejects the unknown format %j',
    (raw) => {
      const r = parseData(raw);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(/AAAA-MM-DD ou DD\/MM\/AAAA/);
    },
  );
});
