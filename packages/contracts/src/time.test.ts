import { describe, expect, it } from 'vitest';
import { twoDigits, wallClock } from './time.ts';

describe('wallClock', () => {
  it('reads the zone’s clock, daylight saving included', () => {
    expect(wallClock(Date.parse('2026-02-16T10:20:05Z'), 'America/Sao_Paulo')).toEqual({
      year: 2026,
      month: 2,
      day: 16,
      hour: 7,
      minute: 20,
      second: 5,
    });
    // New York: EST (−5) before 2026-03-08 07:00 UTC, EDT (−4) after.
    expect(wallClock(new Date('2026-03-08T06:59:59Z'), 'America/New_York')).toMatchObject({
      hour: 1,
      minute: 59,
    });
    expect(wallClock(new Date('2026-03-08T07:00:00Z'), 'America/New_York')).toMatchObject({
      hour: 3,
      minute: 0,
    });
  });

  it('shows midnight as hour 0 and crosses the date line', () => {
    expect(wallClock(new Date('2026-11-22T03:00:00Z'), 'America/Sao_Paulo')).toEqual({
      year: 2026,
      month: 11,
      day: 22,
      hour: 0,
      minute: 0,
      second: 0,
    });
    expect(wallClock(new Date('2026-12-31T23:30:00Z'), 'Pacific/Auckland')).toMatchObject({
      year: 2027,
      month: 1,
      day: 1,
      hour: 12,
    });
  });

  it('refuses an unknown zone', () => {
    expect(() => wallClock(0, 'Mars/Olympus_Mons')).toThrow(RangeError);
  });

  it('pads to two digits', () => {
    expect([0, 7, 12].map(twoDigits)).toEqual(['00', '07', '12']);
  });
});
