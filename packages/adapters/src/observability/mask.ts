import { maskNomeOnce, maskNomesInText } from '@recon/rules';

export { maskNomesInText };

/**
 * RULES §7 / technical document §10.4.3: logs never carry a full `nome` (`***Silva`).
 *
 * `maskDeep` masks every member whose key names a `nome` (`nome`, `nome_csv`, `nome_base`, …) at
 * any depth — objects, arrays, errors and their causes — and runs every other string through
 * `maskNomesInText` (@recon/rules), which catches a `nome` quoted inside free text.
 */
const NOME_KEY = /(^|_)nome($|_)/i;

/** A copy of `value` with every `nome` masked; errors become plain `{ type, message, stack, … }`. */
export function maskDeep(value: unknown): unknown {
  return mask(value, new WeakSet(), 0);
}

function mask(value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === 'string') return maskNomesInText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth > 12) return '[Too deep]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => mask(v, seen, depth + 1));
    if (value instanceof Error) {
      const out: Record<string, unknown> = { type: value.name, message: maskNomesInText(value.message) };
      if (value.stack !== undefined) out.stack = maskNomesInText(value.stack);
      for (const [k, v] of Object.entries(value)) out[k] = maskMember(k, v, seen, depth);
      if (value.cause !== undefined) out.cause = mask(value.cause, seen, depth + 1);
      return out;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskMember(k, v, seen, depth);
    return out;
  } finally {
    seen.delete(value);
  }
}

function maskMember(key: string, value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (NOME_KEY.test(key) && typeof value === 'string') return maskNomeOnce(value);
  return mask(value, seen, depth + 1);
}
