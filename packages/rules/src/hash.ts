import * as crypto from 'node:crypto';
import type { NormalizedRecord } from '@recon/contracts';

/**
 * The shard of an order: FNV-1a (32 bit) over the UTF-16 code units of the normalized `ordem_id`,
 * modulo the shard count. Stable across processes and runtimes, so both sides of an order always
 * meet in the same shard.
 */
export function shardOf(ordemId: string, shardCount: number): number {
  return (orderHash(ordemId) >>> 0) % shardCount;
}

/** FNV-1a (32 bit, as an int32) over the UTF-16 code units of a normalized `ordem_id`. */
export function orderHash(ordemId: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < ordemId.length; k++) {
    h ^= ordemId.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/** The canonical normalized line: the six fields in canonical order joined by `;`. */
export function canonicalLine(r: NormalizedRecord): string {
  return `${r.fornecedor_id};${r.ordem_id};${r.nome};${r.ativo_id};${r.data};${r.valor}`;
}

/**
 * One-shot hashing (Node ≥ 20.12) is twice as fast as a Hash object per line: it counts, one line
 * per divergence.
 */
const oneShot: ((algorithm: string, data: string | Uint8Array, encoding: 'hex') => string) | undefined = (
  crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }
).hash;

/** Hex SHA-256 of a string's UTF-8 bytes, or of bytes. */
function sha256Hex(data: string | Uint8Array): string {
  return oneShot === undefined
    ? crypto.createHash('sha256').update(data).digest('hex')
    : oneShot('sha256', data, 'hex');
}

/** `hash_linha` (RULES §6): hex SHA-256 of the UTF-8 canonical normalized line. */
export function hashLinha(r: NormalizedRecord): string {
  return sha256Hex(canonicalLine(r));
}

/**
 * `hash_linha` of a canonical normalized line given as its UTF-8 bytes: the 64 hex digits are
 * written at `out[at]` (the matcher builds the line from a record's encoded bytes).
 */
export function hashLinhaBytesInto(line: Uint8Array, out: Buffer, at: number): void {
  out.write(sha256Hex(line), at, 64, 'latin1');
}
