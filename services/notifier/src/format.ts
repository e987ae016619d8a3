/** pt-BR formatting of the numbers, rates, dates and durations the messages carry. */

import { twoDigits, wallClock } from '@recon/contracts';

const INTEGER = new Intl.NumberFormat('pt-BR', { maximumFractionDigits: 0 });
const PERCENT = new Intl.NumberFormat('pt-BR', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** 1234567 → "1.234.567". */
export function int(n: number): string {
  return INTEGER.format(n);
}

/** A ratio (0.0523) as a percentage with two decimals: "5,23%". */
export function pct(ratio: number): string {
  return `${PERCENT.format(ratio * 100)}%`;
}

/** "2026-02-16" → "16/02/2026" (other text is returned as it is). */
export function day(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return m === null ? iso : `${m[3]}/${m[2]}/${m[1]}`;
}

/** An ISO timestamp as "16/02/2026 07:20:00 (America/Sao_Paulo)"; unparseable text is kept. */
export function timestamp(iso: string, timeZone: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const c = wallClock(ms, timeZone);
  const date = `${twoDigits(c.day)}/${twoDigits(c.month)}/${c.year}`;
  return `${date} ${twoDigits(c.hour)}:${twoDigits(c.minute)}:${twoDigits(c.second)} (${timeZone})`;
}

/** Seconds as "45,2 s", "12 min 34 s" or "1 h 02 min". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60)
    return `${new Intl.NumberFormat('pt-BR', { maximumFractionDigits: 1 }).format(seconds)} s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const min = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${String(min).padStart(2, '0')} min`;
  return s === 0 ? `${min} min` : `${min} min ${s} s`;
}
