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
