/** RULES §2: `data` is `YYYY-MM-DD` or `DD/MM/YYYY`; impossible dates are rejected. Result is ISO. */
export type DataResult = { ok: true; value: string } | { ok: false; reason: string };

/** Whether `s` is an ISO day `YYYY-MM-DD` that exists on the calendar (a reference date, a filter). */
export function isIsoDay(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && parseData(s).ok;
}

export function parseData(raw: string): DataResult {
  let year: number;
  let month: number;
  let day: number;
  if (raw.length === 10 && raw.charCodeAt(4) === 45 && raw.charCodeAt(7) === 45) {
    year = digitsAt(raw, 0, 4);
    month = digitsAt(raw, 5, 2);
    day = digitsAt(raw, 8, 2);
  } else if (raw.length === 10 && raw.charCodeAt(2) === 47 && raw.charCodeAt(5) === 47) {
    day = digitsAt(raw, 0, 2);
    month = digitsAt(raw, 3, 2);
    year = digitsAt(raw, 6, 4);
  } else {
    return { ok: false, reason: 'formato não reconhecido (esperado AAAA-MM-DD ou DD/MM/AAAA)' };
  }
  if (year < 0 || month < 0 || day < 0) {
    return { ok: false, reason: 'formato não reconhecido (esperado AAAA-MM-DD ou DD/MM/AAAA)' };
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return { ok: false, reason: 'data inexistente' };
  }
  if (raw.charCodeAt(4) === 45) return { ok: true, value: raw };
  return { ok: true, value: `${raw.slice(6, 10)}-${raw.slice(3, 5)}-${raw.slice(0, 2)}` };
}

/** The integer of `length` ASCII digits at `start`, or -1 when any is not a digit. */
function digitsAt(s: string, start: number, length: number): number {
  let value = 0;
  for (let k = start; k < start + length; k++) {
    const d = s.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
