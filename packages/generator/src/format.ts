import type { RecordRng } from './prng.ts';

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of an ISO date "YYYY-MM-DD" (throws on anything else). */
export function isoToDay(iso: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) throw new Error(`not an ISO date: ${iso}`);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const day = ms / MS_PER_DAY;
  if (dayToIso(day) !== iso) throw new Error(`impossible date: ${iso}`);
  return day;
}

/** ISO "YYYY-MM-DD" of a day number (pure arithmetic on UTC, no clock involved). */
export function dayToIso(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/**
 * Date strings for a contiguous range of days, precomputed once (formatting a date per line
 * would dominate the generator's time).
 */
export class DateTable {
  readonly iso: string[] = [];
  readonly br: string[] = [];

  constructor(
    readonly firstDay: number,
    lastDay: number,
  ) {
    for (let d = firstDay; d <= lastDay; d++) {
      const iso = dayToIso(d);
      this.iso.push(iso);
      this.br.push(`${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`);
    }
  }

  isoOf(day: number): string {
    const s = this.iso[day - this.firstDay];
    if (s === undefined) throw new Error(`day ${day} outside the date table`);
    return s;
  }

  brOf(day: number): string {
    const s = this.br[day - this.firstDay];
    if (s === undefined) throw new Error(`day ${day} outside the date table`);
    return s;
  }
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Canonical money: "-1234.50" / "0.05" (what the base side holds). `cents` is an exact integer. */
export function canonicalValor(cents: number): string {
  const abs = Math.abs(cents);
  const sign = cents < 0 ? '-' : '';
  return `${sign}${Math.floor(abs / 100)}.${two(abs % 100)}`;
}

function group(intPart: number, sep: string): string {
  const s = String(intPart);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += sep;
    out += s[i];
  }
  return out;
}

/**
 * A vendor-side notation of `cents` that RULES §3 reads back as exactly `cents`:
 * `1234.56`, `1234,56`, `1.234,56`, `1,234.56`, `1234.5`, `1234`, `1.234.567`, and 3–4 decimals
 * that round half-to-even onto `cents` (ties included, e.g. `10.025` → 10.02; a half-up reader
 * would get those wrong).
 */
export function vendorValor(cents: number, rng: RecordRng): string {
  const abs = Math.abs(cents);
  const sign = cents < 0 ? '-' : '';
  const ip = Math.floor(abs / 100);
  const fp = abs % 100;
  const r = rng.int(100);
  if (r < 28) return `${sign}${ip}.${two(fp)}`;
  if (r < 46) return `${sign}${ip},${two(fp)}`;
  if (r < 60) return `${sign}${group(ip, '.')},${two(fp)}`;
  if (r < 70) return `${sign}${group(ip, ',')}.${two(fp)}`;
  if (r < 86) {
    // More than two decimals, built so that half-even rounding lands on `cents`.
    const sep = rng.int(2) === 0 ? '.' : ',';
    const v = rng.int(4);
    let m: number; // cents part written, before rounding
    let tail: string; // extra decimals after the second
    if (v === 0 && abs % 2 === 0) {
      m = abs; // exact tie rounding down to the even cent: 10.025 -> 10.02
      tail = rng.int(2) === 0 ? '5' : '50';
    } else if (v === 1 && abs % 2 === 1) {
      m = abs - 1; // just above the tie: rounds up onto the odd cent
      tail = rng.int(2) === 0 ? '51' : String(6 + rng.int(4));
    } else if (v === 2 && abs >= 1) {
      m = abs - 1; // below-even tie rounds up: x.xx5 with odd m goes to m+1 (even)
      if (m % 2 === 1) tail = '5';
      else tail = String(6 + rng.int(4));
    } else {
      m = abs; // plain truncation: 1..4 in the third place
      tail = String(1 + rng.int(4));
    }
    return `${sign}${Math.floor(m / 100)}${sep}${two(m % 100)}${tail}`;
  }
  if (r < 93) {
    if (fp === 0) return `${sign}${ip}`;
    if (fp % 10 === 0) return `${sign}${ip}.${fp / 10}`;
    return `${sign}${ip}.${two(fp)}`;
  }
  if (fp === 0 && ip >= 1_000_000) return `${sign}${group(ip, '.')}`;
  return `${sign}${ip},${two(fp)}`;
}

/** RFC 4180 quoting, only when needed (or when `force`). */
export function csvField(s: string, force = false): string {
  if (force || s.includes(';') || s.includes('"') || s.includes('\n') || s.includes('\r')) {
    return `"${s.replaceAll('"', '""')}"`;
  }
  return s;
}

/** Leading/trailing blanks that the reader must trim (unquoted fields only). */
export function padBlanks(s: string, rng: RecordRng): string {
  switch (rng.int(4)) {
    case 0:
      return ` ${s}`;
    case 1:
      return `${s}  `;
    case 2:
      return `\t${s}`;
    default:
      return ` ${s}\t`;
  }
}
