/**
 * RULES §3: money as an exact decimal with two places, never a binary float.
 * A valor travels as its canonical string ("1234.50", "-0.07"); equal amounts have equal strings.
 */

/** decimal(18,2): at most 16 digits before the decimal point. */
export const MAX_INTEGER_DIGITS = 16;

export type ValorResult = { ok: true; value: string } | { ok: false; reason: string };

/**
 * Parses a trimmed amount: an optional `-`, then digit groups separated by single `.` or `,`.
 * both present → the last one is the decimal separator; one kind once → decimal;
 * one kind repeated → grouping. A leading `-` is allowed. Rounds half-to-even to 2 places.
 */
export function parseValor(raw: string): ValorResult {
  const fast = canonicalFastPath(raw);
  if (fast !== null) return { ok: true, value: fast };
  const n = raw.length;
  if (n === 0) return { ok: false, reason: 'vazio' };
  let i = 0;
  let negative = false;
  if (raw.charCodeAt(0) === 45 /* - */) {
    negative = true;
    i = 1;
  }
  let dots = 0;
  let commas = 0;
  let lastSep = -1;
  let digits = 0;
  let previousWasDigit = false;
  for (let j = i; j < n; j++) {
    const c = raw.charCodeAt(j);
    if (c >= 48 && c <= 57) {
      digits++;
      previousWasDigit = true;
      continue;
    }
    if (c !== 46 && c !== 44) return { ok: false, reason: `caractere inesperado "${raw[j]}"` };
    // Digit groups separated by single separators: "1.234,56" yes; ".5", "5.", "1..5" no.
    if (!previousWasDigit || j === n - 1)
      return { ok: false, reason: `separador "${raw[j]}" mal posicionado` };
    previousWasDigit = false;
    if (c === 46) dots++;
    else commas++;
    lastSep = j;
  }
  if (digits === 0) return { ok: false, reason: 'nenhum dígito' };

  let decimalAt = -1;
  if (dots > 0 && commas > 0) decimalAt = lastSep;
  else if (dots + commas === 1) decimalAt = lastSep;

  let intDigits = '';
  let fracDigits = '';
  for (let j = i; j < n; j++) {
    const c = raw.charCodeAt(j);
    if (c >= 48 && c <= 57) {
      if (decimalAt !== -1 && j > decimalAt) fracDigits += raw[j];
      else intDigits += raw[j];
    }
  }
  return canonical(negative, intDigits, fracDigits);
}

/**
 * The common shapes `1234.56` / `-1234,56` (no grouping, exactly two decimals, no leading zero)
 * without building digit strings; null when the general path is needed.
 */
function canonicalFastPath(raw: string): string | null {
  const n = raw.length;
  if (n < 4 || n > 20) return null;
  const sep = raw.charCodeAt(n - 3);
  if (sep !== 46 && sep !== 44) return null;
  const start = raw.charCodeAt(0) === 45 ? 1 : 0;
  const integerDigits = n - 3 - start;
  if (integerDigits < 1 || integerDigits > MAX_INTEGER_DIGITS) return null;
  if (raw.charCodeAt(start) === 48 && integerDigits > 1) return null;
  for (let k = start; k < n; k++) {
    if (k === n - 3) continue;
    const c = raw.charCodeAt(k);
    if (c < 48 || c > 57) return null;
  }
  if (
    start === 1 &&
    raw.charCodeAt(1) === 48 &&
    raw.charCodeAt(n - 2) === 48 &&
    raw.charCodeAt(n - 1) === 48
  ) {
    return null; // "-0.00": the general path drops the sign
  }
  return sep === 46 ? raw : `${raw.slice(0, n - 3)}.${raw.slice(n - 2)}`;
}

/** Builds the canonical string from sign and digit strings, rounding half-to-even. */
function canonical(negative: boolean, intDigits: string, fracDigits: string): ValorResult {
  let units = stripLeadingZeros(intDigits);
  let cents = `${fracDigits}00`.slice(0, 2);
  if (fracDigits.length > 2) {
    const decider = fracDigits.charCodeAt(2) - 48;
    const restNonZero = /[1-9]/.test(fracDigits.slice(3));
    const lastKeptOdd = (cents.charCodeAt(1) - 48) % 2 === 1;
    if (decider > 5 || (decider === 5 && (restNonZero || lastKeptOdd))) {
      const bumped = incrementDigits(units + cents);
      units = stripLeadingZeros(bumped.slice(0, -2));
      cents = bumped.slice(-2);
    }
  }
  if (units.length > MAX_INTEGER_DIGITS) {
    return { ok: false, reason: `mais de ${MAX_INTEGER_DIGITS} dígitos inteiros (decimal(18,2))` };
  }
  const zero = units === '0' && cents === '00';
  return { ok: true, value: `${negative && !zero ? '-' : ''}${units}.${cents}` };
}

function stripLeadingZeros(digits: string): string {
  let k = 0;
  while (k < digits.length - 1 && digits.charCodeAt(k) === 48) k++;
  return digits.length === 0 ? '0' : digits.slice(k);
}

/** Adds one to a non-negative decimal digit string ("0999" → "1000"). */
function incrementDigits(digits: string): string {
  const out = digits.split('');
  for (let k = out.length - 1; k >= 0; k--) {
    if (out[k] === '9') out[k] = '0';
    else {
      out[k] = String.fromCharCode(out[k]!.charCodeAt(0) + 1);
      return out.join('');
    }
  }
  return `1${out.join('')}`;
}

/** Unscaled cents of a canonical valor, as an exact bigint. */
export function valorToCents(value: string): bigint {
  return BigInt(value.replace('.', ''));
}

/** Canonical string of an exact number of cents. */
export function centsToValor(cents: bigint): string {
  const negative = cents < 0n;
  const abs = (negative ? -cents : cents).toString().padStart(3, '0');
  return `${negative ? '-' : ''}${abs.slice(0, -2)}.${abs.slice(-2)}`;
}

/** a − b, exactly. */
export function subtractValor(a: string, b: string): string {
  return centsToValor(valorToCents(a) - valorToCents(b));
}
