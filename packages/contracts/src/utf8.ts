/** From this many UTF-16 units on, Buffer#write is faster than the JS loop (measured on Node 20). */
const NATIVE_WRITE_MIN_LENGTH = 24;

/**
 * Writes `s` as UTF-8 at `bytes[end]` (capacity for 3 bytes per UTF-16 unit checked by the caller)
 * and returns the new end. Same bytes as TextEncoder / Buffer: a lone surrogate becomes U+FFFD.
 */
export function writeUtf8(bytes: Buffer, start: number, s: string): number {
  const len = s.length;
  // Long strings: one native call beats the per-character loop.
  if (len >= NATIVE_WRITE_MIN_LENGTH) return start + bytes.write(s, start, 'utf8');
  let end = start;
  for (let j = 0; j < len; j++) {
    let c = s.charCodeAt(j);
    if (c < 0x80) {
      bytes[end++] = c;
    } else if (c < 0x800) {
      bytes[end++] = 0xc0 | (c >> 6);
      bytes[end++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = j + 1 < len ? s.charCodeAt(j + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          bytes[end++] = 0xf0 | (cp >> 18);
          bytes[end++] = 0x80 | ((cp >> 12) & 0x3f);
          bytes[end++] = 0x80 | ((cp >> 6) & 0x3f);
          bytes[end++] = 0x80 | (cp & 0x3f);
          j++;
          continue;
        }
        c = 0xfffd;
      }
      bytes[end++] = 0xe0 | (c >> 12);
      bytes[end++] = 0x80 | ((c >> 6) & 0x3f);
      bytes[end++] = 0x80 | (c & 0x3f);
    }
  }
  return end;
}

/**
 * Whether a[aStart, aEnd) and b[bStart, bEnd) hold the same bytes: the same length, and no byte
 * where `compareUtf8` finds them apart. Values compared are short: a loop in JavaScript costs less
 * than the call into Buffer.compare.
 */
export function sameBytes(
  a: Uint8Array,
  aStart: number,
  aEnd: number,
  b: Uint8Array,
  bStart: number,
  bEnd: number,
): boolean {
  return aEnd - aStart === bEnd - bStart && compareUtf8(a, aStart, aEnd, b, bStart, bEnd) === 0;
}

/**
 * Compares the strings that the UTF-8 bytes a[aStart, aEnd) and b[bStart, bEnd) encode as
 * JavaScript compares strings, by UTF-16 code units (<0, 0, >0), without decoding them. Byte order
 * is code point order, which is UTF-16 order except where a character beyond U+FFFF (a surrogate
 * pair, from 0xD800) meets one from U+E000 to U+FFFF: there alone the order is turned around.
 */
export function compareUtf8(
  a: Uint8Array,
  aStart: number,
  aEnd: number,
  b: Uint8Array,
  bStart: number,
  bEnd: number,
): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  let k = 0;
  while (k < n && a[aStart + k] === b[bStart + k]) k++;
  if (k === n) return aEnd - aStart - (bEnd - bStart);
  // Equal bytes up to here: both are lead bytes of their characters, or both continuation bytes of
  // characters with the same lead (the same length, the same plane).
  const x = a[aStart + k]!;
  const y = b[bStart + k]!;
  if (x >= 0xee && y >= 0xee && x >= 0xf0 !== y >= 0xf0) return x >= 0xf0 ? -1 : 1;
  return x - y;
}
