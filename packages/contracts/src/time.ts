/** The wall-clock reading of a time zone at an instant. */
export interface WallClock {
  year: number;
  /** 1–12. */
  month: number;
  day: number;
  /** 0–23. */
  hour: number;
  minute: number;
  second: number;
}

/**
 * What a clock in `timeZone` (an IANA name) shows at `instant`, by the platform's time-zone data
 * (daylight saving and historical offsets included). An unknown zone throws a RangeError.
 */
export function wallClock(instant: Date | number, timeZone: string): WallClock {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** Two digits: 7 → "07". */
export function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}
